# Written by si-nixify (`generate --nix-pinned`); regenerate rather than edit.

"""Toolchains whose tools are exact Nix store paths instead of whatever is first on PATH. Each
`nix_package` target realises one attribute of the root flake's `buck2-toolchains.<system>`
output with `nix build`, in a local-only action whose output is a symlink to the store path
(the approach of tweag/buck2.nix's flake.package). The `nix_*_toolchain` macros declare the
prelude's `system_*_toolchain` under `<name>-from-path` with the attrs given, and a small rule
`<name>` that returns the same provider with every tool replaced by a `RunInfo` pointing into
those packages: the prelude rules take tool *names* (attrs.string), not targets, so they cannot
be given store paths directly.

Buckconfig (read with read_root_config, so `.buckconfig.local` can set them per machine):
  [si_nixify]
  nix = /nix/var/nix/profiles/default/bin/nix   # absolute path: builds need no PATH (default: nix)
  flake = .                                     # the flake, relative to the project root

Checked against facebook/buck2: `ctx.actions.run(..., local_only = True)`; `dir()` of a
provider instance lists its fields (UserProvider::dir_attr in
app/buck2_build_api/src/interpreter/rule_defs/provider/user.rs); `OsLookup.os.value` and
`.cpu` as prelude/toolchains/cxx.bzl reads them; `cmd_args(..., format = ...)`.
"""

load(
    "@prelude//cxx:cxx_toolchain_types.bzl",
    "BinaryUtilitiesInfo",
    "CCompilerInfo",
    "CxxCompilerInfo",
    "CxxPlatformInfo",
    "CxxToolchainInfo",
    "LinkerInfo",
)
load("@prelude//decls:common.bzl", "buck")
load("@prelude//os_lookup:defs.bzl", "OsLookup")
load("@prelude//python:toolchain.bzl", "PythonToolchainInfo")
load("@prelude//python_bootstrap:python_bootstrap.bzl", "PythonBootstrapToolchainInfo")
load("@prelude//rust:rust_toolchain.bzl", "RustToolchainInfo")
load("@prelude//toolchains:cxx.bzl", "system_cxx_toolchain")
load("@prelude//toolchains:python.bzl", "system_python_bootstrap_toolchain", "system_python_toolchain")
load("@prelude//toolchains:rust.bzl", "system_rust_toolchain")

_NIX_OS = {"linux": "linux", "macos": "darwin"}
_NIX_CPU = {"arm64": "aarch64", "x86_64": "x86_64"}

def _nix_system(lookup):
    os = _NIX_OS.get(lookup.os.value)
    cpu = _NIX_CPU.get(lookup.cpu)
    if os == None or cpu == None:
        fail("nix_package: no Nix system for os `{}`, cpu `{}`".format(lookup.os.value, lookup.cpu))
    return cpu + "-" + os

def _nix_package_impl(ctx):
    # The package is an exec dep of the toolchains, so this is the platform the tools run on.
    system = _nix_system(ctx.attrs._target_os_type[OsLookup])
    out = ctx.actions.declare_output("store-path")
    installable = "{}#buck2-toolchains.{}.{}".format(ctx.attrs.flake, system, ctx.attrs.attr)

    # `--out-link` (not `--print-out-paths`, which Nix 2.8 lacks) makes the output a symlink to
    # the store path, and a GC root while buck-out keeps it.
    cmd = cmd_args(
        ctx.attrs.nix,
        "--extra-experimental-features",
        "nix-command flakes",
        "build",
        "--out-link",
        out.as_output(),
        installable,
    )

    # The store path si-nixify recorded is part of the action's key: regenerating after a
    # flake.lock change realises the package again instead of reusing the old symlink.
    ctx.actions.run(
        cmd,
        category = "nix_build",
        identifier = ctx.attrs.attr,
        env = {"SI_NIXIFY_STORE_PATH": ctx.attrs.store_paths.get(system, "")},
        # A symlink into /nix/store is only meaningful on a machine with that store.
        local_only = True,
    )
    return [DefaultInfo(default_output = out)]

_nix_package = rule(
    impl = _nix_package_impl,
    attrs = {
        "attr": attrs.string(),
        "flake": attrs.string(),
        "nix": attrs.string(),
        "store_paths": attrs.dict(attrs.string(), attrs.string(), default = {}),
        "_target_os_type": buck.target_os_type_arg(),
    },
)

def nix_package(name, attr, store_paths = {}, **kwargs):
    """A Nix package of the root flake's `buck2-toolchains` output, realised by `nix build`.

    `store_paths` are the paths `nix build` printed when si-nixify generated this file, by
    Nix system; `si-nixify generate --nix-pinned --check` fails when they no longer match.
    """
    _nix_package(
        name = name,
        attr = attr,
        flake = read_root_config("si_nixify", "flake", "."),
        nix = read_root_config("si_nixify", "nix", "nix"),
        store_paths = store_paths,
        **kwargs
    )

def _bin(tools, binary):
    # The package output is a symlink to the store path; its bin/ holds the tool.
    return cmd_args(tools[binary][DefaultInfo].default_outputs[0], format = "{}/bin/" + binary)

def _run(tools, binary, fallback):
    if binary in tools:
        return RunInfo(args = _bin(tools, binary))
    return fallback

def _replace(info, constructor, **changes):
    # Providers are immutable: the changed copy is the constructor called with every field of
    # the original, so fields a newer prelude adds are carried over untouched.
    fields = {field: getattr(info, field) for field in dir(info)}
    fields.update(changes)
    return constructor(**fields)

def _compiler(info, constructor, tool):
    if info == None:
        return None
    return _replace(info, constructor, compiler = tool)

def _nix_cxx_toolchain_impl(ctx):
    tools = ctx.attrs.nix_tools
    base = ctx.attrs.base[CxxToolchainInfo]
    cc = _run(tools, "clang", base.c_compiler_info.compiler)
    cxx = _run(tools, "clang++", base.cxx_compiler_info.compiler)
    linker_flags = list(base.linker_info.linker_flags)

    # The prelude adds -fuse-ld=lld on Linux; --ld-path makes clang use the pinned ld.lld
    # rather than the first ld.lld it finds on PATH.
    if "ld.lld" in tools and "-fuse-ld=lld" in linker_flags:
        linker_flags.append(cmd_args(_bin(tools, "ld.lld"), format = "--ld-path={}"))
    utilities = base.binary_utilities_info
    if utilities != None:
        utilities = _replace(
            utilities,
            BinaryUtilitiesInfo,
            nm = _run(tools, "nm", utilities.nm),
            objcopy = _run(tools, "objcopy", utilities.objcopy),
            objdump = _run(tools, "objdump", utilities.objdump),
            ranlib = _run(tools, "ranlib", utilities.ranlib),
            strip = _run(tools, "strip", utilities.strip),
        )
    info = _replace(
        base,
        CxxToolchainInfo,
        c_compiler_info = _compiler(base.c_compiler_info, CCompilerInfo, cc),
        cxx_compiler_info = _compiler(base.cxx_compiler_info, CxxCompilerInfo, cxx),
        as_compiler_info = _compiler(base.as_compiler_info, CCompilerInfo, cc),
        asm_compiler_info = _compiler(base.asm_compiler_info, CCompilerInfo, cc),
        linker_info = _replace(
            base.linker_info,
            LinkerInfo,
            linker = cxx,
            archiver = _run(tools, "ar", base.linker_info.archiver),
            linker_flags = linker_flags,
        ),
        binary_utilities_info = utilities,
    )
    return [DefaultInfo(), info, ctx.attrs.base[CxxPlatformInfo]]

def _with_store_path(tools, run):
    # The prelude links Rust through a script it writes with `#!/usr/bin/env bash`
    # (prelude/utils/cmd_script.bzl), which finds bash on the PATH rustc was given: run rustc
    # under `env PATH=<bash's store path>/bin`, so that no PATH of the caller's is needed.
    if "env" not in tools or "bash" not in tools:
        return run
    bash_bin = cmd_args(tools["bash"][DefaultInfo].default_outputs[0], format = "PATH={}/bin")
    return RunInfo(args = cmd_args(_bin(tools, "env"), bash_bin, run.args))

def _nix_rust_toolchain_impl(ctx):
    tools = ctx.attrs.nix_tools
    base = ctx.attrs.base[RustToolchainInfo]
    info = _replace(
        base,
        RustToolchainInfo,
        compiler = _with_store_path(tools, _run(tools, "rustc", base.compiler)),
        rustdoc = _run(tools, "rustdoc", base.rustdoc),
        clippy_driver = _run(tools, "clippy-driver", base.clippy_driver),
    )
    return [DefaultInfo(), info]

def _nix_python_toolchain_impl(ctx):
    tools = ctx.attrs.nix_tools
    base = ctx.attrs.base[PythonToolchainInfo]
    python = _run(tools, "python3", base.interpreter)
    info = _replace(base, PythonToolchainInfo, interpreter = python, host_interpreter = python)
    return [DefaultInfo(), info]

def _nix_python_bootstrap_toolchain_impl(ctx):
    tools = ctx.attrs.nix_tools
    base = ctx.attrs.base[PythonBootstrapToolchainInfo]
    interpreter = _bin(tools, "python3") if "python3" in tools else base.interpreter
    return [DefaultInfo(), PythonBootstrapToolchainInfo(interpreter = interpreter)]

def _pinned_rule(impl, provider):
    return rule(
        impl = impl,
        attrs = {
            "base": attrs.toolchain_dep(providers = [provider]),
            "nix_tools": attrs.dict(attrs.string(), attrs.exec_dep(providers = [DefaultInfo])),
        },
        is_toolchain_rule = True,
    )

_nix_cxx_toolchain = _pinned_rule(_nix_cxx_toolchain_impl, CxxToolchainInfo)
_nix_rust_toolchain = _pinned_rule(_nix_rust_toolchain_impl, RustToolchainInfo)
_nix_python_toolchain = _pinned_rule(_nix_python_toolchain_impl, PythonToolchainInfo)
_nix_python_bootstrap_toolchain = _pinned_rule(_nix_python_bootstrap_toolchain_impl, PythonBootstrapToolchainInfo)

def _pinned(system_rule, pinned_rule, name, nix_tools, visibility, kwargs):
    system_rule(name = name + "-from-path", **kwargs)
    pinned_rule(
        name = name,
        base = ":" + name + "-from-path",
        nix_tools = nix_tools,
        visibility = visibility,
    )

def nix_cxx_toolchain(name, nix_tools, visibility = None, **kwargs):
    """system_cxx_toolchain's attrs; compilers, linker and binutils from `nix_tools`."""
    _pinned(system_cxx_toolchain, _nix_cxx_toolchain, name, nix_tools, visibility, kwargs)

def nix_rust_toolchain(name, nix_tools, visibility = None, **kwargs):
    """system_rust_toolchain's attrs; rustc, rustdoc and clippy-driver from `nix_tools`."""
    _pinned(system_rust_toolchain, _nix_rust_toolchain, name, nix_tools, visibility, kwargs)

def nix_python_toolchain(name, nix_tools, visibility = None, **kwargs):
    """system_python_toolchain's attrs; the interpreter from `nix_tools`."""
    _pinned(system_python_toolchain, _nix_python_toolchain, name, nix_tools, visibility, kwargs)

def nix_python_bootstrap_toolchain(name, nix_tools, visibility = None, **kwargs):
    """system_python_bootstrap_toolchain's attrs; the interpreter from `nix_tools`."""
    _pinned(system_python_bootstrap_toolchain, _nix_python_bootstrap_toolchain, name, nix_tools, visibility, kwargs)
