import quanttheory


def test_version_is_set():
    assert quanttheory.__version__ != ""
