"""opsbook: e-commerce operations playbooks as parameterised notebooks."""
__version__ = "0.1.0"
