"""quanttheory.problems"""
