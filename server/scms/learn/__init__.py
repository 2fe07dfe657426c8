"""The memory-layer model: a product-key memory that learns from accepted uses through sparse slot updates."""
