"""AOViFT: synthetic 3D microscopy PSFs, a Fourier-domain embedding and a multistage ViT that predicts Zernike aberrations."""
