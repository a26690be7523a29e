/**
 * A package-lock.json for an empty project that depends on the packed tarball, with the production
 * dependencies pinned to the repository's lockfile. `npm ci --offline` then installs from npm's cache
 * (filled by the repository's own `npm ci`) without asking the registry for package metadata, which
 * `npm install <tarball>` would need.
 */
interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
  dev?: boolean;
  name?: string;
  [field: string]: unknown;
}

interface Lockfile {
  packages: Record<string, LockEntry>;
}

/** The registry's tarball address of name@version (the lockfile leaves `resolved` out). */
function registryTarball(name: string, version: string): string {
  return `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${version}.tgz`;
}

/** Builds the consumer's lockfile from the repository's lockfile and the tarball's absolute path. */
export function consumerLockfile(repository: Lockfile, tarball: string): object {
  const own = repository.packages[""];
  if (!own?.version) throw new Error("the repository's package-lock.json has no root package entry");
  const packages: Record<string, LockEntry> = {
    "": { name: "consumer", dependencies: { kernelevolve: `file:${tarball}` } },
    "node_modules/kernelevolve": {
      version: own.version,
      resolved: `file:${tarball}`,
      license: own.license,
      dependencies: own.dependencies,
      peerDependencies: own.peerDependencies,
      peerDependenciesMeta: own.peerDependenciesMeta,
      bin: own.bin,
      engines: own.engines,
    },
  };
  // The package's dependencies sit at the same node_modules paths in the consumer as in the repository.
  for (const [path, entry] of Object.entries(repository.packages)) {
    if (!path || entry.dev || entry.link || !path.startsWith("node_modules/")) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    packages[path] = entry.resolved || !entry.version ? entry : { ...entry, resolved: registryTarball(name, entry.version) };
  }
  return { name: "consumer", lockfileVersion: 3, requires: true, packages };
}
