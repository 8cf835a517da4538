"""The ``torchlvm`` command line.

Each subcommand is one module in this package with ``HELP`` (a line), ``configure(parser)`` (adds
its arguments) and ``run(args) -> int``. :data:`COMMANDS` maps command names to those modules. The
CLI parses arguments, calls the library and prints; it holds no maths. A
:class:`~torchlvm.errors.TorchLVMError` becomes one line on stderr and exit status 2, an ``OSError``
(disk full, permission denied) and an allocation that fails (out of memory) one line and exit
status 1, Ctrl-C exit status 130, SIGTERM (``kill``, ``timeout``, a scheduler) 143 and SIGHUP (the
terminal closed) 129, each after what an interrupt keeps is kept, with a last line
``torchlvm: error: interrupted (Ctrl-C)`` (or terminated, hung up), never a traceback.
"""

from __future__ import annotations

import os
import sys
import warnings

from torchlvm._terminated import ENDED, ENDING_SIGNALS, interrupts_kept, raise_terminated

TYPE_CHECKING = False  # (typing and collections.abc: milliseconds before main can catch Ctrl-C)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

#: command name → module under ``torchlvm.cli``, in the order ``--help`` lists them
COMMANDS: dict[str, str] = {
    "datasets": "datasets",
    "fit": "fit",
    "train": "train",
    "sample": "sample",
    "reconstruct": "reconstruct",
    "encode": "encode",
    "impute": "impute",
    "score": "score",
    "transfer": "transfer",
    "evaluate": "evaluate",
    "gaps": "gaps",
    "kl-demo": "kl_demo",
    "compare": "compare",
    "report": "report",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`COMMANDS` (imports them all)."""
    from torchlvm.cli._parser import parser_for

    return parser_for(COMMANDS)


def _print_any_path() -> list[Any]:
    """Let messages name any path, also one whose name is not UTF-8 (Python holds its bytes as
    surrogates, which a strict stream refuses to print): they go out as the original bytes.
    Returns the streams changed."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "") == "strict":
            reconfigure(errors="surrogateescape")
            changed.append(stream)
    return changed


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _one_line_warning(
    message: Warning | str, category: type[Warning], *_: object, **__: object
) -> str:
    """A warning as one ``torchlvm: warning:`` line (not Python's file:line and source line),
    in the command line's words where the warning has them (``on_command_line``, as errors do:
    PPCA's EM names --max-iter, not the Python keywords max_iter and tol)."""
    said = getattr(message, "on_command_line", message)
    return f"torchlvm: warning: {' '.join(str(said).split())}\n"


class _StartInterrupted(BaseException):
    """Ctrl-C (or SIGTERM) while the command starts (imports torch and every command, parses).
    Not a KeyboardInterrupt: CPython ends the process by SIGINT (status -2, not 130) once a
    KeyboardInterrupt has passed through an extension module's initialisation, such as scipy's
    during its import, even when it was caught."""

    seen = False  # set by the handler: some extensions turn it into another error (numpy's
    # C core, interrupted while it imports datetime, raises ImportError), which is it all the same
    signum = 2  # the signal seen: SIGINT (2), SIGTERM (15) or SIGHUP (1)


def _start_interrupted(signum: int, frame: object) -> None:
    _StartInterrupted.seen, _StartInterrupted.signum = True, signum
    raise _StartInterrupted


def _signum(err: BaseException) -> int:
    """The signal that interrupted the command: SIGTERM (15) for
    :class:`~torchlvm._terminated.Terminated`, SIGHUP (1) for its
    :class:`~torchlvm._terminated.HungUp`, else SIGINT (2)."""
    if isinstance(err, _StartInterrupted):
        return _StartInterrupted.signum
    return int(getattr(err, "signum", 2))


def _say_ended(err: BaseException, signum: int) -> None:
    """What an interrupt kept (its message), then the one ``torchlvm: error:`` line that names
    the signal, which README's Reliability section promises and a wrapper greps for (userV #7:
    it was ``torchlvm: interrupted``). Unsaid where stderr is gone (a SIGHUP's closed
    terminal): the exit status still says it."""
    try:
        if str(err):  # what was kept, e.g. the checkpoints of the finished epochs
            print(f"torchlvm: {err}", file=sys.stderr)
        print(f"torchlvm: error: {ENDED.get(signum, 'interrupted')}", file=sys.stderr)
    except (OSError, ValueError, AttributeError):  # (EIO, a closed or absent stream)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``torchlvm`` script. Returns the exit status.

    Ctrl-C at any moment after the interpreter has started prints one line and returns 130
    (``import torchlvm`` imports nothing, so this runs before torch's seconds-long import);
    SIGTERM, run as ``torchlvm`` (``argv`` None), is taken as Ctrl-C is and returns 143
    (userO #7: it returned 130 from a training, and ended other commands at once, their
    staging folders and half-written files left behind), SIGHUP so too, 129.
    Called in-process with ``argv``, it leaves the caller's global state as it was: grad mode,
    random states, environment, warnings, log levels (:mod:`torchlvm._kept_state`), and the
    standard streams' error handler.
    """
    formatwarning, streams = warnings.formatwarning, _print_any_path()
    try:
        return _main(argv)
    except (KeyboardInterrupt, _StartInterrupted) as err:
        signum = _signum(err)
        _say_ended(err, signum)
        return 128 + signum  # 130, 143, 129: a shell's status of a process these signals ended
    finally:
        if argv is None:  # the process's own command line: the process ends next
            _ending()
        else:  # a caller's function call: its session goes on
            warnings.formatwarning = formatwarning
            for stream in streams:
                stream.reconfigure(errors="strict")


def _ending() -> None:
    """The command is over and its status decided: ignore Ctrl-C, and spare the interpreter's
    teardown its garbage collection over every object torch and Lightning made.

    That teardown took 3.95 s after ``train`` had written its run and printed its summary (median
    of 5, 2 shared cores under load; 0.48 s with the objects frozen: benchmarks/results/
    process_exit.md), with SIGINT back at its default:
    a Ctrl-C then ended the process by SIGINT, a status that says interrupted (130 in a shell),
    with no message, though the run was whole. Frozen objects are still freed by reference
    counting; atexit handlers still run."""
    import gc
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for signum in ENDING_SIGNALS:  # (as Ctrl-C: the run is whole)
            if signal.getsignal(signum) is raise_terminated:
                signal.signal(signum, signal.SIG_IGN)
    except ValueError:  # not the main thread
        pass
    gc.freeze()


def _start(argv: Sequence[str] | None) -> tuple[Any, Any, list[str]]:
    """The parser, the parsed arguments and the unrecognized ones, with Ctrl-C meanwhile raising
    :class:`_StartInterrupted` (the command's own handling takes over after); the process's own
    command line (``argv`` None) takes SIGTERM and SIGHUP so too, then as
    :class:`~torchlvm._terminated.Terminated`."""
    import signal

    ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler  # (not if ignored)
    term = [s for s in ENDING_SIGNALS if argv is None and signal.getsignal(s) == signal.SIG_DFL]
    try:
        if ours:
            signal.signal(signal.SIGINT, _start_interrupted)
        for signum in term:  # (not SIGHUP under nohup, which ignores it)
            signal.signal(signum, _start_interrupted)
    except ValueError:  # not the main thread, which alone receives signals
        ours, term = False, []
    _StartInterrupted.seen = False
    try:
        parser = build_parser()  # (imports every command, torch too)
        args, extra = parser.parse_known_args(argv)
    except Exception:
        if _StartInterrupted.seen:
            raise _StartInterrupted from None
        raise
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in term:
            signal.signal(signum, raise_terminated)
    if _StartInterrupted.seen:  # an import that fails softly (try: import x) took it as an error
        raise _StartInterrupted
    return parser, args, extra


def _flushed(status: int) -> int:
    """``status`` once standard output is flushed: here, where a closed pipe is caught (by
    :func:`_main`), not at exit. Closed (``cmd >&-``: Python sets ``sys.stdout`` to None) it
    has nothing to flush; one the system refuses (``> /dev/full``) is named as standard
    output, the command's work being done (userF: 'No space left on device; check the path',
    no path, for a run written whole)."""
    if sys.stdout is None:
        return status
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        why = " ".join((err.strerror or str(err) or type(err).__name__).split())
        print(
            f"torchlvm: error: could not write this command's summary to standard output "
            f"({why}); what the command wrote to files is complete",
            file=sys.stderr,
        )
        _discard_stdout()
        return 1
    return status


def _out_of_memory(err: BaseException) -> str | None:
    """``" (N GB asked)"``, ``""`` where the size is not said, for an allocation that failed:
    Python's MemoryError, torch's CPU allocator ("can't allocate memory: you tried to allocate
    81920000000 bytes") or a GPU's (``torch.OutOfMemoryError``); None for any other error."""
    import re

    text = str(err)
    if not isinstance(err, MemoryError) and not re.search(
        r"can't allocate memory|not enough memory|out of memory", text, re.IGNORECASE
    ):
        return None
    if found := re.search(r"allocate (\d+) bytes", text):
        return f" ({int(found.group(1)) / 1e9:.3g} GB asked)"
    if found := re.search(r"allocate ([\d.]+ [KMGT]iB)", text):
        return f" ({found.group(1)} asked)"
    return ""


SIZES = {"n": "--n", "k": "--k", "chunk": "--chunk", "samples": "--samples", "draws": "--draws",
         "chains": "--chains", "ais_chains": "--ais-chains", "hidden": "--hidden",
         "batch_size": "--batch-size"}  # fmt: skip
"""The options that set how much memory a command asks for, by their ``argparse`` names."""


def _asking_less(args: argparse.Namespace) -> str:
    """``"ask for less (a smaller --k or --batch-size) or "``: the options of :data:`SIZES` that
    the running command takes (``fit`` takes none of them: review13's nit on 485c7df)."""
    flags = [flag for dest, flag in SIZES.items() if hasattr(args, dest)]
    if not flags:
        return ""
    listed = flags[0] if len(flags) == 1 else f"{', '.join(flags[:-1])} or {flags[-1]}"
    return f"ask for less (a smaller {listed}) or "


def _main(argv: Sequence[str] | None) -> int:
    warnings.formatwarning = _one_line_warning
    parser, args, extra = _start(argv)
    from torchlvm._kept_state import caller_state_kept
    from torchlvm._user_folders import quiet_matplotlib
    from torchlvm.errors import TorchLVMError

    if extra:  # named by the command's parser, whose --help lists what it takes
        parser.commands.get(args.command, parser).unrecognized(extra)
    if args.command is None:
        parser.print_help()
        return 2
    from torchlvm.data.csv_once import parsed_once

    try:
        # (parsed once: a table read for several splits; interrupts kept: userV #1, #2)
        with caller_state_kept(), parsed_once(), interrupts_kept():
            quiet_matplotlib()  # (a home that cannot be written: no complaints, userV #12)
            status = int(args.run(args) or 0)
        return _flushed(status)
    except TorchLVMError as err:  # an option is named by its flag (OptionError)
        print(f"torchlvm: error: {getattr(err, 'on_command_line', err)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout's reader went away (| head): stop quietly, as cat does
        _discard_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a process that the pipe stopped
    except (MemoryError, RuntimeError) as err:  # (torch's allocators raise RuntimeErrors)
        asked = _out_of_memory(err)
        if asked is None:
            raise
        print(
            f"torchlvm: error: out of memory{asked} (the sizes checked before the work did not "
            f"foresee this allocation); {_asking_less(args)}free memory (files written before "
            "stay as they were)",
            file=sys.stderr,
        )
        return 1
    except OSError as err:  # a full disk, a read-only or unreadable path: the system's refusal
        what = " ".join((err.strerror or str(err) or type(err).__name__).split())
        where = f": {err.filename}" if err.filename else ""
        print(
            f"torchlvm: error: {what}{where}; check the path, its permissions and the free disk "
            "space (files written before stay as they were)",
            file=sys.stderr,
        )
        return 1
