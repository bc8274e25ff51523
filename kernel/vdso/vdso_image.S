/* vdso_image.S: the built vDSO, embedded page-aligned in the kernel image. */
	.section .rodata
	.p2align 12
	.globl vdso_image, vdso_image_end
vdso_image:
	.incbin VDSO_SO
vdso_image_end:
	.p2align 12
