"""The shared core every method builds on (no method-specific code lives here).

runtime (profile, device, seeding, Colab, paths) · files (atomic writes) · images (the tensor/uint8
conventions) · config (one config base) · checkpoint (RunDir) · loop (the one training loop, DDP) ·
cli · release (safetensors + manifest) · losses (GAN losses) · metrics · distribution (FID/KID/IS
with pluggable features) · bench · viz
"""
