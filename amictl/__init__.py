"""amictl: manage who may launch an EC2 machine image and how it behaves."""

__version__ = "0.1.0"
