"""quanttheory.quantizers"""
