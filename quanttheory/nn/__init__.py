"""quanttheory.nn"""
