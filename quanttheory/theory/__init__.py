"""quanttheory.theory"""
