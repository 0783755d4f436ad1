# Written by `si-nixify generate`; run it again rather than editing this file.
"""A tool that a download used to provide, now run from PATH, where the devshell puts it.

Toolchains that take this target's RunInfo call `exe`; rules that take a file get a small
script that runs it. No type annotations, so that every Buck2 era reads it.
"""

def _si_nixify_path_tool_impl(ctx):
    script = ctx.actions.write(
        ctx.attrs.name + ".sh",
        ["#!/bin/sh", "exec {} \"$@\"".format(ctx.attrs.exe)],
        is_executable = True,
    )
    return [
        DefaultInfo(default_output = script),
        RunInfo(args = cmd_args(ctx.attrs.exe)),
    ]

si_nixify_path_tool = rule(
    impl = _si_nixify_path_tool_impl,
    attrs = {
        "exe": attrs.string(doc = "The binary on PATH that stands in for the download."),
    },
)
