"""The Python API as a user meets it: every public class and function has a
docstring with an example, the examples run as written (doctest), and a
wrong argument fails at once with a message that names it."""

import doctest
import inspect

import pytest

import pagecore
from pagecore import Model, run_threads
from pagecore.model import machine, variants
from pagecore.verify import interleaving


def public():
    for name in pagecore.__all__:
        obj = getattr(pagecore, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield name, obj


@pytest.mark.parametrize("name, obj", list(public()))
def test_public_names_have_an_example(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert ">>> " in doc, "%s has no example in its docstring" % name


@pytest.mark.parametrize("cls", [Model, pagecore.ThreadRun, pagecore.Interleaving,
                                 pagecore.Variant])
def test_public_methods_have_docstrings(cls):
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if not name.startswith("_"):
            assert inspect.getdoc(fn), "%s.%s has no docstring" % (cls.__name__, name)


@pytest.mark.parametrize("module", [machine, variants, interleaving, pagecore._errors])
def test_examples_run_as_written(module):
    res = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0


def test_run_threads_takes_a_model_or_its_core():
    m = Model("original", instrumented=True)
    for target in (m, m.core):
        run = run_threads(target, {"a": lambda: 7})
        assert run.ok and run.results == {"a": 7}


@pytest.mark.parametrize("call, message", [
    (lambda m: run_threads(object(), {"a": lambda: 1}), "runs against a Model"),
    (lambda m: run_threads(m, [lambda: 1]), "fns must be a dict"),
    (lambda m: run_threads(m, {"a": 3}), "fns must be a dict"),
    (lambda m: run_threads(m, {"a": lambda: 1}, timeout="5"), "timeout must be"),
    (lambda m: Model(3), "variant must be"),
    (lambda m: Model("original", table_bits="8"), "table_bits must be an int"),
    (lambda m: Model("original", instrumented="yes"), "instrumented must be"),
    (lambda m: m.start_writeback(1.5), "page must be an int"),
    (lambda m: m.flags("0"), "page must be an int"),
    (lambda m: m.wait_on_page_bit(0, 2.0), "bit_nr must be an int"),
])
def test_wrong_argument_types_fail_loudly(call, message):
    m = Model("original", instrumented=True)
    with pytest.raises(TypeError, match=message):
        call(m)


def test_bits_by_name():
    m = Model("original", instrumented=True)
    page = m.new_page()
    m.wait_on_page_bit(page, "PG_writeback")    # not under writeback: returns at once
    with pytest.raises(ValueError, match="unknown page flag 'PG_nope'"):
        m.wait_on_page_bit(page, "PG_nope")


def test_events_say_when_they_need_the_instrumented_build():
    with pytest.raises(pagecore.PagecoreError, match="needs the instrumented build"):
        Model("original").events()
    m = Model("original", instrumented=True)
    m.events_reset()
    m.start_writeback(m.new_page())
    assert m.events()["atomic_rmw"] > 0
