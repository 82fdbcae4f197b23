"""Lambda functions deployed by the stack, each in its own folder.

A function's archive holds the modules at the top of its folder (every ``*.py`` there but the
package's ``__init__.py``: ``function_sources`` in payments_infra/aws/function_code.py), side
by side at the archive's root: Lambda's runtime imports ``handler`` as a top-level module, and
finds its sibling modules on ``sys.path``. In this repository the same files make the package
``functions.<folder>``, as the tests and mypy import them, where a plain ``import sibling``
finds nothing. So a module that needs a sibling imports it so::

    if TYPE_CHECKING or __package__:
        from . import sibling
    else:
        import sibling

``__package__`` is ``"functions.<folder>"`` in the repository and empty in Lambda; mypy reads
the first branch only. In Lambda every module is a top-level one, so none may be named as a
module of the standard library (tests/functions/test_function_sources.py checks both: the
archive imports on its own, and no name shadows the standard library).
"""
