"""What a native candidate may import: an allowlist over the built library's dynamic symbols and needed libraries, and
a scan of its machine code for system-call instructions. Runs on the trusted side after the confined compile, before
anything loads the library (platforms/cpu.py and platforms/cuda.py compile()).

Allowed: libc memory, string and formatting functions, libm (and libmvec), OpenMP (omp_*, GOMP_*, __kmpc_*), the C++
runtime (operator new/delete, exceptions, RTTI, std:: library code except threads, files, clocks and randomness from
the OS), libgcc helpers, and for CUDA the CUDA runtime API except side streams, host callbacks, IPC, device reset and
driver entry points. Everything else is refused with reason `forbidden_call` and a message naming the symbol: the
interpreter's C API (Py*, _Py*), the dynamic loader (dlopen, dlsym, dl_iterate_phdr, _r_debug), memory mapping and
raw system calls (mmap, mprotect, syscall), threads and processes (pthread_create, clone, fork, exec*, system, popen,
std::thread), signals, files, sockets and the environment, allocator tuning (mallopt, madvise), glibc internals
(__libc_*), and clocks (clock_gettime, gettimeofday, time, std::chrono, and rdtsc/rdtscp instructions): a kernel has
no use for the time, and a clock is what lets it tell timed repetitions from checked calls.
Needed libraries: libc, libm, libmvec, libgomp, libstdc++, libgcc_s, the loader, and for CUDA libcudart and the
libdl/libpthread/librt stubs that CUDA's static runtime names.
"""
import os
import re
import shutil
import struct
import subprocess

FORBIDDEN = "forbidden_call"

_LIBC = {
    # memory and strings
    "memcpy", "memmove", "memset", "memcmp", "memchr", "memrchr", "bcmp", "bzero", "strlen", "strnlen", "strcmp", "strncmp",
    "strcpy", "strncpy", "strcat", "strncat", "strchr", "strrchr", "strstr", "strdup", "strndup", "strtok_r", "strspn", "strcspn",
    "strerror", "__memcpy_chk", "__memmove_chk", "__memset_chk", "__strcpy_chk", "__strncpy_chk", "__strcat_chk",
    "__strncat_chk", "__stpcpy_chk", "stpcpy", "wmemset", "wmemcpy", "wmemmove", "wcslen", "__wmemset_chk",
    # allocation
    "malloc", "calloc", "realloc", "free", "aligned_alloc", "posix_memalign", "memalign", "valloc", "reallocarray",
    "malloc_usable_size",
    # numbers and formatting (output goes to the candidate's log)
    "abs", "labs", "llabs", "div", "ldiv", "lldiv", "qsort", "bsearch", "strtol", "strtoul", "strtoll", "strtoull",
    "strtod", "strtof", "strtold", "atoi", "atol", "atoll", "atof", "printf", "fprintf", "sprintf", "snprintf",
    "vprintf", "vfprintf", "vsprintf", "vsnprintf", "puts", "putchar", "fputs", "fputc", "putc", "fwrite", "fflush",
    "__printf_chk", "__fprintf_chk", "__sprintf_chk", "__snprintf_chk", "__vfprintf_chk", "__vsnprintf_chk",
    "__vsprintf_chk", "sscanf", "__isoc99_sscanf", "__isoc23_sscanf", "__isoc23_strtol", "__isoc23_strtoul",
    "__isoc23_strtoll", "__isoc23_strtoull", "stdout", "stderr", "__errno_location", "__ctype_b_loc",
    "__ctype_tolower_loc", "__ctype_toupper_loc", "tolower", "toupper", "isalpha", "isdigit", "isspace", "btowc", "wctob",
    "towlower", "towupper", "wctype", "iswctype", "mbrtowc", "wcrtomb", "mbsrtowcs", "wcsrtombs", "wcscmp", "wcsxfrm",
    "strcoll", "strxfrm", "__strcoll_l", "__strxfrm_l", "__wcscoll_l", "__wcsxfrm_l", "wcscoll", "nl_langinfo",
    # termination, static objects, stack protection, thread-local storage
    "abort", "exit", "_exit", "__assert_fail", "__cxa_finalize", "__cxa_atexit", "atexit", "__cxa_thread_atexit_impl", "__stack_chk_fail",
    "__stack_chk_guard", "__tls_get_addr", "__fortify_fail", "__chk_fail", "__gmon_start__", "_ITM_deregisterTMCloneTable",
    "_ITM_registerTMCloneTable", "_Jv_RegisterClasses", "__cpu_indicator_init", "__cpu_model", "__cpu_features2",
    # OpenMP's own locks and the threads it manages are fine; these pthread calls do not start anything
    "pthread_mutex_lock", "pthread_mutex_unlock", "pthread_mutex_init", "pthread_mutex_destroy", "pthread_mutex_trylock",
    "pthread_once", "pthread_self", "pthread_equal", "pthread_key_create", "pthread_key_delete", "pthread_getspecific",
    "pthread_setspecific", "pthread_cond_wait", "pthread_cond_signal", "pthread_cond_broadcast", "pthread_cond_init",
    "pthread_cond_destroy", "pthread_rwlock_rdlock", "pthread_rwlock_wrlock", "pthread_rwlock_unlock",
    "__pthread_key_create",
}
_LIBM_NAMES = (
    "acos", "asin", "atan", "atan2", "cos", "sin", "tan", "acosh", "asinh", "atanh", "cosh", "sinh", "tanh", "exp",
    "exp2", "exp10", "expm1", "log", "log2", "log10", "log1p", "logb", "ilogb", "pow", "sqrt", "cbrt", "hypot", "erf",
    "erfc", "lgamma", "tgamma", "ceil", "floor", "trunc", "round", "lround", "llround", "rint", "lrint", "llrint",
    "nearbyint", "fmod", "remainder", "remquo", "fabs", "fmin", "fmax", "fdim", "fma", "copysign", "nextafter",
    "nexttoward", "frexp", "ldexp", "modf", "scalbn", "scalbln", "sincos", "nan", "lgamma_r", "significand", "gamma",
)
_LIBM = {f"{name}{suffix}" for name in _LIBM_NAMES for suffix in ("", "f", "l", "f128", "f64", "f32")} | {
    f"__{name}{suffix}_finite" for name in _LIBM_NAMES for suffix in ("", "f", "l")} | {
    "__isnan", "__isnanf", "__isinf", "__isinff", "__finite", "__finitef", "__fpclassify", "__fpclassifyf", "__signbit",
    "__signbitf", "isnan", "isinf", "isnanf", "isinff", "finite", "finitef", "feclearexcept", "fetestexcept",
    "fegetround", "fesetround", "__sincosf", "__sincos", "__exp10", "__exp10f"}
_CXX_RUNTIME = {
    "__cxa_allocate_exception", "__cxa_free_exception", "__cxa_throw", "__cxa_begin_catch", "__cxa_end_catch",
    "__cxa_rethrow", "__cxa_get_exception_ptr", "__cxa_current_exception_type", "__cxa_call_unexpected",
    "__cxa_guard_acquire", "__cxa_guard_release", "__cxa_guard_abort", "__cxa_pure_virtual", "__cxa_deleted_virtual",
    "__cxa_bad_cast", "__cxa_bad_typeid", "__cxa_throw_bad_array_new_length", "__cxa_demangle", "__gxx_personality_v0",
    "_Unwind_Resume", "_Unwind_RaiseException", "_Unwind_GetIP", "_Unwind_GetRegionStart", "_Unwind_GetLanguageSpecificData",
    "_Unwind_SetGR", "_Unwind_SetIP", "_Unwind_DeleteException", "_Unwind_Backtrace", "__dso_handle",
}
# libgcc arithmetic helpers (128-bit integers, complex numbers, half floats, bit counts).
_LIBGCC = re.compile(r"^__(?:u?(?:div|mod|mul)[tdsx]i3|(?:mul|div)[sdxt]c3|powi[sdxt]f2|popcount\w+|clz\w+|ctz\w+|ffs\w+|"
                     r"parity\w+|bswap\w+|extend\w+|trunc\w+|fix\w+|float\w+|ashl\w+|ashr\w+|lshr\w+|neg\w+|cmp\w+|ucmp\w+|"
                     r"(?:add|sub|mul|div)[sdtxh]f3|(?:eq|ne|ge|gt|le|lt|unord)[sdtxh]f2)$")
_OPENMP = re.compile(r"^(?:omp_\w+|GOMP_\w+|__kmpc_\w+|ompt_\w+)$")
_MANGLED_NEW_DELETE = re.compile(r"^_Z(?:nw|na|dl|da)\w*$")
# libstdc++: std:: code (mangled _ZSt, _ZNSt, _ZNKSt, _ZTI/_ZTS/_ZTV type information), minus what reaches the OS.
_CXX_LIBRARY = re.compile(r"^_Z(?:N?K?St|TI|TS|TV|TT|GV|Th|Tv)\w*$|^_ZN(?:9__gnu_cxx|10__cxxabiv1|St3__1|St7__cxx11)\w*$")
_CXX_DENIED = re.compile(r"thread|fstream|filebuf|__basic_file|6chrono|random_device|filesystem|10filesystem|"
                         r"13basic_fstream|4this_thread|condition_variable_any|5async|6future|7promise|__at_thread_exit|"
                         r"system_error.*(?:_M_|what)|9exception_ptr.*rethrow_if_nested$")
_VECTOR_MATH = re.compile(r"^_ZGV[a-zA-Z]\w*$")

_CUDA_RUNTIME = re.compile(r"^(?:cuda\w+|__cuda\w+|__nv\w+|__fatbinwrap\w*|__cudaRegister\w+)$")
_CUDA_DENIED = re.compile(r"^cuda(?:StreamCreate\w*|LaunchHostFunc|StreamAddCallback|DeviceReset|ThreadExit|Ipc\w+|"
                          r"GetDriverEntryPoint\w*|StreamBeginCapture\w*|GraphLaunch|SetDevice|DeviceSetLimit|"
                          r"SetDeviceFlags|ProfilerStart|ProfilerStop|EventElapsedTime)$")

# name or pattern -> why it is refused (the most specific message wins; anything not allowed gets a generic one).
_DENIED_KINDS = [
    (re.compile(r"^_?Py\w+|^_Py\w+"), "calls the Python interpreter's C API"),
    (re.compile(r"^(?:dlopen|dlmopen|dlsym|dlvsym|dlclose|dlerror|dladdr1?|dlinfo|dl_iterate_phdr|_r_debug|_dl_\w+|__libc_dl\w+)$"),
     "uses the dynamic loader"),
    (re.compile(r"^(?:mmap|mmap64|munmap|mremap|mprotect|pkey_mprotect|madvise|posix_madvise|mlock\w*|munlock\w*|msync|"
                r"remap_file_pages|memfd_create|shm_open|shmat|shmget|brk|sbrk)$"), "maps or changes memory itself"),
    (re.compile(r"^(?:syscall|__syscall\w*|ptrace|prctl|seccomp|personality|setrlimit|prlimit\w*|arch_prctl)$"),
     "makes raw system calls or changes process control"),
    (re.compile(r"^(?:pthread_create|pthread_detach|pthread_kill|pthread_cancel|pthread_exit|pthread_attr\w*|thrd_create|"
                r"clone3?|__clone\w*|fork|vfork|_Fork|__fork|daemon|exec\w*|fexecve|system|popen|pclose|posix_spawn\w*|"
                r"wait\w*|kill|killpg|tgkill|raise|abort_handler)$"), "starts threads or processes or signals them"),
    (re.compile(r"^(?:signal|sigaction|__sigaction|sigprocmask|pthread_sigmask|sigaltstack|setitimer|alarm|"
                r"timer_create|sigsetjmp|siglongjmp|__sigsetjmp|setjmp|longjmp|_longjmp)$"), "installs signal handlers or jumps"),
    (re.compile(r"^(?:clock_gettime|__clock_gettime\w*|gettimeofday|time|clock|times|ftime|clock_getres|timespec_get|"
                r"getrusage|nanosleep|clock_nanosleep|usleep|sleep|sched_yield|_ZNSt6chrono\w+)$"),
     "reads clocks or sleeps (a kernel has no use for the time)"),
    (re.compile(r"^(?:open|open64|openat\w*|creat\w*|fopen\w*|freopen\w*|fdopen|__open\w*|read|write|pread\w*|pwrite\w*|"
                r"readv|writev|close|lseek\w*|fstat\w*|stat\w*|lstat\w*|__xstat\w*|__fxstat\w*|__lxstat\w*|access|"
                r"faccessat|unlink\w*|rename\w*|remove|mkdir\w*|rmdir|chmod|fchmod\w*|chown|fchown|truncate|ftruncate|"
                r"link\w*|symlink\w*|readlink\w*|opendir|fdopendir|readdir\w*|closedir|nftw|ftw|realpath|getcwd|chdir|"
                r"fread|fgets|fgetc|getc|getline|getdelim|__getdelim|fscanf|__isoc99_fscanf|fseek|ftell|rewind|fclose|"
                r"tmpfile|mkstemp\w*|mkdtemp|tmpnam|dup|dup2|dup3|pipe\w*|ioctl|fcntl\w*|mkfifo|mknod|sendfile|splice|"
                r"inotify\w*|socket\w*|connect|bind|listen|accept\w*|send\w*|recv\w*|getaddrinfo|gethostbyname\w*|"
                r"setsockopt|getsockopt|poll|ppoll|select|pselect|epoll\w*|eventfd|signalfd|timerfd\w*)$"),
     "touches files, sockets or descriptors"),
    (re.compile(r"^(?:getenv|secure_getenv|__secure_getenv|setenv|unsetenv|putenv|clearenv|environ|__environ|_environ)$"),
     "reads or changes the environment"),
    (re.compile(r"^(?:mallopt|mallinfo2?|malloc_trim|malloc_stats|malloc_info|__malloc_hook|__free_hook|"
                r"__realloc_hook|__memalign_hook|__morecore|__after_morecore_hook|__malloc_initialize_hook)$"),
     "tunes or hooks the allocator (it would slow the reference too)"),
    (re.compile(r"^__libc_\w+$"), "uses C library internals"),
    (re.compile(r"^(?:getpid|getppid|gettid|getuid|geteuid|getgid|getegid|uname|gethostname|sysconf|sysinfo|"
                r"get_nprocs\w*|sched_\w+|setuid|setgid|setgroups|chroot|mount|umount\w*|unshare|setns)$"),
     "queries or changes the process or the system"),
]

_ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libmvec.so.1", "libgomp.so.1", "libstdc++.so.6", "libgcc_s.so.1",
                   "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
_CUDA_NEEDED = re.compile(r"^(?:libcudart\.so(?:\.\d+)*|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1)$")

# Instructions that enter the kernel (or read the time stamp counter) directly, bypassing every imported symbol.
_INSTRUCTIONS = re.compile(r"\t(syscall|sysenter|int\s+\$0x80|rdtscp?|svc\s+#?0x0|svc\s+#0)\b")


class ElfError(Exception):
    """The file is not an ELF object this check can read (the library is then refused)."""


def _strings(data, offset, size):
    return data[offset:offset + size]


def _name(table, index):
    end = table.find(b"\0", index)
    return table[index:end if end >= 0 else len(table)].decode("utf-8", "replace")


def read_imports(path):
    """(undefined symbol names, DT_NEEDED names, is_relocatable) of a 64-bit little-endian ELF file.

    For a shared library the dynamic symbol table is read; for a relocatable object (.o) the full symbol table."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("only 64-bit little-endian ELF is checked")
    elf_type = struct.unpack_from("<H", data, 16)[0]
    section_offset, = struct.unpack_from("<Q", data, 0x28)
    entry_size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    if not section_offset or entry_size != 64:
        raise ElfError("no section headers")
    sections = []
    for index in range(count):
        (name, kind, flags, address, offset, size, link, info, alignment, entsize) = struct.unpack_from(
            "<IIQQQQIIQQ", data, section_offset + index * entry_size)
        sections.append({"type": kind, "offset": offset, "size": size, "link": link, "entsize": entsize})
    wanted_symbols = 11 if elf_type == 3 else 2  # SHT_DYNSYM for ET_DYN, SHT_SYMTAB for ET_REL
    undefined, needed = set(), []
    for section in sections:
        if section["type"] == wanted_symbols:
            table = _strings(data, sections[section["link"]]["offset"], sections[section["link"]]["size"])
            for position in range(section["offset"] + 24, section["offset"] + section["size"], 24):
                name_index, info, _, shndx = struct.unpack_from("<IBBH", data, position)
                binding, kind = info >> 4, info & 0xF
                if shndx == 0 and name_index and kind != 3:  # SHN_UNDEF, not a section symbol
                    undefined.add(_name(table, name_index))
        elif section["type"] == 6:  # SHT_DYNAMIC
            table = _strings(data, sections[section["link"]]["offset"], sections[section["link"]]["size"])
            for position in range(section["offset"], section["offset"] + section["size"], 16):
                tag, value = struct.unpack_from("<qQ", data, position)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    needed.append(_name(table, value))
    return undefined, needed, elf_type == 1


def symbol_verdict(symbol, cuda=False):
    """None when `symbol` may be imported, else why not."""
    if (symbol in _LIBC or symbol in _LIBM or symbol in _CXX_RUNTIME or _LIBGCC.match(symbol) or _OPENMP.match(symbol)
            or _MANGLED_NEW_DELETE.match(symbol) or _VECTOR_MATH.match(symbol)):
        return None
    if _CXX_LIBRARY.match(symbol):
        return "uses a part of the C++ library that reaches the OS (threads, files, clocks)" if _CXX_DENIED.search(symbol) else None
    if cuda and _CUDA_RUNTIME.match(symbol):
        return "uses a CUDA runtime call that escapes the timed stream or the device" if _CUDA_DENIED.match(symbol) else None
    for pattern, reason in _DENIED_KINDS:
        if pattern.match(symbol):
            return reason
    return "is not on the list of symbols a kernel may import"


def scan_instructions(path, objdump=None):
    """[(mnemonic, where)] of system-call and time-stamp instructions in the file's executable sections (objdump -d)."""
    objdump = objdump or shutil.which("objdump")
    if not objdump:
        raise ElfError("objdump (binutils) is not available to inspect the machine code")
    result = subprocess.run([objdump, "-d", "--no-show-raw-insn", path], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise ElfError(f"objdump failed: {result.stderr.strip()[:200]}")
    found, function = [], "?"
    for line in result.stdout.splitlines():
        if line.endswith(">:"):
            function = line.split("<", 1)[-1][:-2]
            continue
        match = _INSTRUCTIONS.search(line)
        if match:
            found.append((re.sub(r"\s+", " ", match.group(1)), function))
    return found


def check_library(path, cuda=False, symbols=True, instructions=True):
    """Findings [{message, symbol}] for one built file, a shared library or an object file (empty: it may load).

    `cuda`: the CUDA runtime API is allowed. symbols=False checks only the needed libraries (a CUDA .so, whose static
    runtime imports what kernels may not: its candidate code is checked in the object file before linking)."""
    findings = []
    try:
        undefined, needed, _ = read_imports(path)
    except (OSError, ElfError, struct.error) as error:
        return [{"message": f"the built library cannot be inspected ({error})", "symbol": None}]
    for library in needed:
        if library not in _ALLOWED_NEEDED and not (cuda and _CUDA_NEEDED.match(library)):
            findings.append({"message": f"the library links against {library}, outside libc, libm, OpenMP and the C++ runtime",
                             "symbol": library})
    for symbol in sorted(undefined) if symbols else ():
        bare = symbol.split("@", 1)[0]
        reason = symbol_verdict(bare, cuda)
        if reason:
            findings.append({"message": f"imports '{bare}', which {reason}", "symbol": bare})
    if instructions:
        try:
            for mnemonic, function in scan_instructions(path):
                what = "reads the time-stamp counter" if mnemonic.startswith("rdtsc") else "makes a raw system call"
                findings.append({"message": f"contains a '{mnemonic}' instruction in {function} ({what})", "symbol": mnemonic})
        except (ElfError, OSError, subprocess.SubprocessError) as error:
            findings.append({"message": f"the machine code cannot be inspected ({error})", "symbol": None})
    return findings


def describe(findings, limit=3):
    """One message for a rejection: the first findings, then how many more."""
    text = "; ".join(finding["message"] for finding in findings[:limit])
    return text + (f" (and {len(findings) - limit} more)" if len(findings) > limit else "")


def check_cuda_build(object_path, library_path):
    """A CUDA build: the candidate's object file (its own imports and code) and the linked library (needed libraries
    and code, CUDA's static runtime included)."""
    return check_library(object_path, cuda=True) + check_library(library_path, cuda=True, symbols=False)


# Compiler flags a candidate may not pass: they would link other code, read host files, or replace the toolchain.
_FORBIDDEN_FLAG = re.compile(r"^(?:-l|-L|-Wl,|-Xlinker|--linker-options|-B|-specs|--specs|-ccbin|--compiler-bindir|"
                             r"-include|-imacros|-I|-isystem|-iquote|-idirafter|-iprefix|-iwithprefix|--include-path|"
                             r"--system-include|-isysroot|--sysroot|-x|@|-fplugin|-wrapper|-nostdlib|-nodefaultlibs|-static|"
                             r"-o|--output-file|-save-temps|-MF|-MD|-MMD|--keep|-dump|-fdump|-Xptxas|--ptxas-options|"
                             r"-Xnvlink|--nvlink-options|-Xarchive|--library|--library-path|-lib|-dlink|-rdc|"
                             r"--relocatable-device-code|-z|-rpath|-fuse-ld|--use-local-env|-fprofile|-fcoverage|--coverage)")


def check_flags(flags):
    """Findings for the candidate's own compile flags (an include or link path, another linker, a plugin...)."""
    findings = []
    for flag in flags or []:
        parts = [flag] if not isinstance(flag, str) else [flag.strip()] + [
            part.strip() for part in flag.partition("=")[2].split(",") if part.strip()]
        if not isinstance(flag, str) or any(_FORBIDDEN_FLAG.match(part) for part in parts):
            findings.append({"message": f"the compile flag {str(flag)[:80]!r} may not be used (it reads or links code "
                                        "outside the candidate's source)", "symbol": str(flag)[:80]})
    return findings
