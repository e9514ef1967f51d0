"""The model's kernel: C sources compiled into every variant."""
