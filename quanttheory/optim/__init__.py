"""quanttheory.optim"""
