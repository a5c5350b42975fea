import inspect

import s3ferry


def test_all_is_explicit_and_complete():
    public = {name for name in dir(s3ferry) if not name.startswith("_")}
    modules = {name for name, value in vars(s3ferry).items() if inspect.ismodule(value)}
    assert set(s3ferry.__all__) - {"__version__"} == public - modules
    assert sorted(s3ferry.__all__) == s3ferry.__all__


def test_operations_are_async_with_keyword_only_options():
    for name in ("put", "get"):
        fn = getattr(s3ferry, name)
        assert inspect.iscoroutinefunction(fn)
        params = inspect.signature(fn).parameters.values()
        assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == ["source", "destination"]
        assert all(p.kind is p.KEYWORD_ONLY for p in params if p.name not in ("source", "destination"))


def test_every_error_is_in_one_tree():
    errors = [getattr(s3ferry, n) for n in s3ferry.__all__ if n.endswith("Error")]
    assert all(issubclass(e, s3ferry.S3FerryError) for e in errors)
