"""Config sections of the stack model, one module per area of the estate."""
