"""Loads flow files: finds them, parses them safely, checks them, and builds `Flow`s.

Every problem in every file is collected before anything is raised, so one `apiflow validate`
shows all of them. Flows named by `use` are loaded once each, wherever they are used from, and
a cycle of `use` is a load error. Names a template reads are checked here too: a name no var,
input, matrix column, earlier capture or built-in defines is a load error, found before any
request is sent.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from runner.errors import LoadError
from runner.flowfile import files as fs
from runner.flowfile.build import FlowBuilder
from runner.flowfile.model import Flow, Step
from runner.flowfile.parse_ahead import FlowFiles, Parsed
from runner.flowfile.scan import shown
from runner.flowfile.schema_check import check_flow_document
from runner.flowfile.source import Problem, SourceFile, Span, did_you_mean
from runner.flowfile.templates import Template, environment, templates_in
from runner.flowfile.yaml_source import Document, parse_yaml_documents
from runner.limits import MAX_USE_DEPTH

# Names every template may read; `response` is added inside expect, capture and retry.
BUILTIN_NAMES = frozenset({"vars", "env", "secret", "steps", "uuid", "now", "random_int", "fake"})


class FlowLoader:
    """Loads flow files, each once; remembers every problem found in each."""

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        self.extra_names = frozenset(extra_names)
        self.loaded: dict[Path, list[Flow] | None] = {}
        self.problems: dict[Path, list[Problem]] = {}
        self.loading: list[Path] = []  # the chain of `use` being loaded, to find cycles
        self._folders: dict[Path, Path] = {}  # each folder of a flow file, resolved

    def load_all(self, path: Path, parsed: Parsed | None = None) -> list[Flow]:
        """The flows of the file at `path` (one per YAML document), or [] when it has problems.
        `parsed`: its documents, already parsed and shape-checked without a problem."""
        key = self.resolved(path)
        if key not in self.loaded:
            self.loading.append(key)
            flows, problems = self._load(path, parsed)
            self.loading.pop()
            self.loaded[key] = None if problems else flows
            self.problems[key] = problems
        return self.loaded[key] or []

    def resolved(self, path: Path) -> Path:
        """`path.resolve()`, each folder resolved once: a folder of a thousand flows costs one
        walk of its links, and each file one `lstat`, instead of a walk of every folder above
        it for every file (a twentieth of loading)."""
        if path.name in ("", ".", ".."):
            return path.resolve()
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = path.parent.resolve()
        # As resolve() does for the last part: followed if it is a link, from the real folder.
        found = folder / path.name
        return found.resolve() if found.is_symlink() else found

    def all_problems(self) -> list[Problem]:
        return [p for problems in self.problems.values() for p in problems]

    def _load(self, path: Path, parsed: Parsed | None) -> tuple[list[Flow], list[Problem]]:
        if parsed is not None:
            documents: list[tuple[Document, list[Problem]]] = [(doc, []) for doc in parsed]
        else:
            try:
                text = fs.read_text(path)
            except fs.UnreadableFileError as err:
                return [], [Problem(None, f"{shown(str(path))}: cannot read the flow file: {err}")]
            documents = parse_yaml_documents(SourceFile(str(path), text))
        flows: list[Flow] = []
        problems: list[Problem] = []
        for index, (doc, found) in enumerate(documents):
            number = index + 1 if len(documents) > 1 else None  # names an unnamed flow: `file #2`
            flow = self._flow(path, doc, found, number, shape_checked=parsed is not None)
            problems += found
            if flow is not None:
                flows.append(flow)
        problems.sort(key=lambda p: (p.span.line, p.span.column) if p.span else (0, 0))
        return flows, problems

    def _flow(
        self, path: Path, doc: Document, problems: list[Problem], number: int | None, *, shape_checked: bool
    ) -> Flow | None:
        """The flow of one YAML document; what is wrong with it is added to `problems`."""
        if problems:
            return None
        if not shape_checked:
            problems += check_flow_document(doc)
        if not isinstance(doc.data, dict):
            return None
        builder = FlowBuilder(doc, resolve_use=lambda name, span: self._use(path, name, span, problems), number=number)
        flow = builder.flow()
        problems.extend(builder.problems)
        if not builder.unresolved_uses:  # else every output of the missing flow would be reported too
            problems.extend(check_names(flow, self.extra_names if not self.loading[:-1] else frozenset()))
        return flow

    def _use(self, caller: Path, name: str, span: Span, problems: list[Problem]) -> Flow | None:
        """Resolve `use: name` in `caller`; a missing file or a cycle is a problem at the step."""
        # Shown as the user would write it from here (flows/lib/x.yaml); compared resolved.
        target = Path(os.path.normpath(caller.parent / name))
        why = fs.why_not_a_file(target)
        if why:
            if why == "no such file":
                why = f"no such flow file ({shown(str(target))})"
            hint = "the path is relative to the file that uses it"
            problems.append(Problem(span, f"`use: {shown(name)}`: {why}", hint))
            return None
        if len(self.loading) >= MAX_USE_DEPTH:
            problems.append(
                Problem(
                    span,
                    f"`use` goes more than {MAX_USE_DEPTH} flows deep here",
                    "a chain of flows using flows this long is a mistake; use the steps directly",
                )
            )
            return None
        if target.resolve() in self.loading:
            chain = [*self.loading[self.loading.index(target.resolve()) :], target]
            problems.append(
                Problem(
                    span,
                    f"`use` makes a cycle: {' → '.join(p.name for p in chain)}",
                    "a flow cannot use itself, directly or through others",
                )
            )
            return None
        flows = self.load_all(target)
        if len(flows) > 1:
            hint = "`use` runs one flow: keep the one to use in a file of its own"
            problems.append(Problem(span, f"`use: {name}`: that file holds {len(flows)} flows", hint))
            return None
        if not flows:
            problems.append(Problem(span, f"`use: {name}`: that flow does not load (its problems are listed with it)"))
            return None
        return flows[0]


def load_flow(path: str | Path, *, extra_names: Iterable[str] = ()) -> Flow:
    """Load one flow file; raises `LoadError` listing every problem in it and the flows it uses."""
    loader = FlowLoader(extra_names)
    flows = loader.load_all(Path(path))
    if len(flows) != 1:
        problems = loader.all_problems() or [
            Problem(None, f"{path} holds {len(flows)} flows; load_flows reads them all")
        ]
        raise LoadError(problems)
    return flows[0]


def load_flows(
    paths: Sequence[str],
    *,
    extra_names: Iterable[str] = (),
    runnable: bool = True,
    exclude: Sequence[str] = (),
    parse_ahead: bool = False,
    found: FlowFiles | None = None,
) -> list[Flow]:
    """Load every flow under `paths`, sub-flows included; raises `LoadError` listing every problem.

    With `runnable`, returns the flows to run: a sub-flow (one with a required input) runs only
    through `use`, so naming one on the command line is a problem; otherwise returns them all.
    With `parse_ahead`, many files are parsed by helper processes on the other cores, for the
    same flows and the same problems (parse_ahead.py); the command line asks for it, and may
    have found the files (`found`, of these `paths` and `exclude`) and started the helpers itself.
    """
    loader = FlowLoader(extra_names)
    with found or FlowFiles(paths, exclude, ahead=parse_ahead) as files, _no_cycle_collection():
        flows = [flow for file in files.files for flow in loader.load_all(file, files.take(file))]
    problems = [*files.problems, *loader.all_problems()]
    if runnable and not problems:
        problems += _sub_flows_named(flows, paths)
        flows = [f for f in flows if not f.is_sub_flow]
    if not flows and not problems:
        hint = "name a flow file (*.yaml, *.yml) or a folder that holds some"
        problems.append(Problem(None, f"no flow to run under {', '.join(paths)}", hint))
    if problems:
        raise LoadError(problems)
    return flows


def _sub_flows_named(flows: list[Flow], paths: Sequence[str]) -> list[Problem]:
    """A sub-flow named on the command line cannot run by itself: say what it needs."""
    named = {Path(p).resolve() for p in paths if fs.kind(Path(p)) == "file"}
    hint = "run a flow that uses it (`use:` with `with:`), or give its inputs defaults"
    problems = []
    for flow in flows:
        if flow.is_sub_flow and Path(flow.path).resolve() in named:
            required = [i for i in flow.inputs if i.required]
            needs = ", ".join(i.name for i in required)
            problems.append(Problem(required[0].span, f"{flow.path} is a sub-flow: it needs the input {needs}", hint))
    return problems


def check_names(flow: Flow, extra_names: frozenset[str] = frozenset()) -> list[Problem]:
    """Names read by templates that nothing defines before the place that reads them."""
    known = set(BUILTIN_NAMES) | set(environment().globals) | extra_names
    known |= {i.name for i in flow.inputs} | {k for row in flow.matrix for k in row}
    problems: list[Problem] = []
    for var in flow.vars:
        problems += _undefined(templates_in(var.value), known, f"var `{var.name}`", "")
        known.add(var.name)
    for i in flow.inputs:
        problems += _undefined(templates_in(i.default), known, f"input `{i.name}`", "")
    for value in (flow.http.headers, flow.http.params, flow.http.auth):
        problems += _undefined(templates_in(value), known, "the `http` block", "")
    ids: set[str] = set()
    for step in flow.steps:
        problems += _step_problems(step, known, ids)
        known |= _defined_by(step)
        ids |= {step.id} if step.id else set()
    for step in flow.finally_steps:
        problems += _step_problems(step, known, ids)
    return problems


def _step_problems(step: Step, known: set[str], ids: set[str]) -> list[Problem]:
    """In one step: names nothing defines before they are read, and `steps.X` where no earlier
    step has the id X. The step's templates are gathered once for both."""
    sending = [t for v in _request_templates(step) for t in templates_in(v)]
    checking = [t for v in _response_templates(step) for t in templates_in(v)]
    after = known | _defined_by(step) | {"response"}
    problems = _undefined(sending, known, "", step.name) + _undefined(checking, after, "", step.name)
    return problems + _step_ids_read(step, sending + checking, ids)


def _step_ids_read(step: Step, templates: list[Template], ids: set[str]) -> list[Problem]:
    """`steps.X` where no earlier step has the id X."""
    problems = []
    for template in templates:
        for name in sorted(template.step_ids - ids):
            hint = did_you_mean(name, ids) or (
                f"give an earlier step `id: {name}`"
                if not ids
                else f"the earlier steps' ids are: {', '.join(sorted(ids))}"
            )
            problems.append(
                Problem(template.span, f"`steps.{name}`: no earlier step has the id `{name}`", hint, step=step.name)
            )
    return problems


def names_read(flow: Flow) -> set[str]:
    """Every name a `--var` could set in `flow`: its vars, inputs and matrix columns, and every
    name one of its templates reads."""
    names = {v.name for v in flow.vars} | {i.name for i in flow.inputs} | {k for row in flow.matrix for k in row}
    values: list[object] = [v.value for v in flow.vars] + [i.default for i in flow.inputs]
    values += [flow.http.headers, flow.http.params, flow.http.auth]
    for step in (*flow.steps, *flow.finally_steps):
        values += [*_request_templates(step), *_response_templates(step)]
    return names | {n for v in values for t in templates_in(v) for n in t.names}


def _defined_by(step: Step) -> set[str]:
    return {c.name for c in step.captures} | (set(step.use.flow.outputs) if step.use else set())


def _request_templates(step: Step) -> list[object]:
    return [step.when, *step.sending_values()]


def _response_templates(step: Step) -> list[object]:
    return list(step.checking_values())


def _undefined(values: Iterable[object], known: set[str], where: str, step: str) -> list[Problem]:
    problems = []
    for template in (t for v in values for t in templates_in(v)):
        for name in sorted(template.names - known - template.optional):
            hint = did_you_mean(name, known) or (
                f"define `{name}` under `vars:`, capture it in an earlier step, or pass --var {name}=..."
            )
            message = f"`{name}` is not defined" + (f" in {where}" if where else "")
            problems.append(Problem(template.span, message, hint, step=step))
    return problems


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Loading makes objects that all live on (a model makes no cycles to collect), so Python's
    cycle collector, run every 700 new objects, would only walk the growing model over and over:
    a tenth of the time of loading a thousand flows."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Everything made meanwhile is still in the youngest generation, which the first
            # collection after this walks whole (40 ms for a thousand flows). Frozen and thawed,
            # it goes to the oldest one, which is seldom walked, and stays collectable. Only
            # when nothing else is frozen: thawing would thaw what someone else froze.
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
