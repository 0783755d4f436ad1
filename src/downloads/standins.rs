//! Recording stand-ins for the globals Buck2 gives BUCK and .bzl files.
//!
//! The interpreter is the real one (the `starlark` crate Buck2 is built on); only the values
//! Buck2 would provide are replaced: `rule()` returns a [`RuleValue`] that records a target
//! each time it is called, `native.X` and the native rules of a BUCK file are [`NativeFn`]s
//! that do the same, `select()` keeps its branches as data, and every other Buck2 value a file
//! mentions (providers, `cmd_args`, `attrs`, …) is an [`Opaque`] that absorbs whatever is done
//! with it. Nothing is built, analysed or downloaded.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use allocative::Allocative;
use serde::{Serialize, Serializer};
use starlark::any::ProvidesStaticType;
use starlark::collections::SmallMap;
use starlark::environment::{Globals, GlobalsBuilder, LibraryExtension};
use starlark::eval::{Arguments, Evaluator};
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::DictRef;
use starlark::values::none::NoneType;
use starlark::values::starlark_value;
use starlark::values::structs::AllocStruct;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{Heap, StarlarkValue, Value};

use super::{EvaluatedTarget, Host, Package, Site};
use crate::repo::BuckConfig;

/// A `rule()` the evaluation saw.
#[derive(Debug, Clone)]
pub struct RuleDef {
    /// The name it was exported as (`node_dist = rule(…)`); `None` until assigned.
    pub name: Option<String>,
    pub defined_at: Site,
}

/// Shared state of one evaluation, reached from native code through `Evaluator::extra`.
#[derive(ProvidesStaticType)]
pub struct Recorder {
    pub targets: RefCell<Vec<EvaluatedTarget>>,
    pub rules: RefCell<Vec<RuleDef>>,
    pub package: RefCell<Option<Package>>,
    pub config: BuckConfig,
    pub host: Host,
    /// The globals, so that `native.glob` and friends forward to the same functions.
    pub globals: Globals,
}

impl Recorder {
    /// The recorder an evaluator carries; the reference outlives the borrow of `eval`, so
    /// the evaluator stays usable (to call functions) while the recorder is held.
    fn of<'a>(eval: &Evaluator<'_, 'a, '_>) -> starlark::Result<&'a Recorder> {
        eval.extra
            .and_then(|e| e.downcast_ref::<Recorder>())
            .ok_or_else(|| anyhow::anyhow!("si-nixify: evaluator without a recorder").into())
    }

    /// Record a call of rule `kind` (defined at `defined_at`, or native) made with `args`.
    fn record<'v>(
        &self,
        kind: &str,
        defined_at: Option<Site>,
        args: &Arguments<'v, '_>,
        eval: &Evaluator<'v, '_, '_>,
    ) -> starlark::Result<()> {
        let heap = eval.heap();
        args.no_positional_args(heap)?;
        let mut attrs = BTreeMap::new();
        for (k, v) in args.names_map()? {
            attrs.insert(k.as_str().to_owned(), to_json(v));
        }
        let Some(name) = attrs
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned)
        else {
            return Err(anyhow::anyhow!("a call of rule `{kind}` has no `name`").into());
        };
        let Some(package) = self.package.borrow().clone() else {
            // A rule called while a .bzl file loads: Buck2 refuses it; so does the caller.
            return Err(anyhow::anyhow!("rule `{kind}` called outside a build file").into());
        };
        let stack = call_stack(eval);
        let rule_call = stack.last().cloned().unwrap_or_else(|| Site {
            file: package.build_file.clone(),
            line: 1,
        });
        let call = stack
            .iter()
            .find(|s| s.file == package.build_file)
            .cloned()
            .unwrap_or_else(|| rule_call.clone());
        self.targets.borrow_mut().push(EvaluatedTarget {
            label: package.label(&name),
            package: package.dir.clone(),
            name,
            rule: kind.to_owned(),
            attrs,
            call,
            rule_call,
            stack,
            rule_defined_at: defined_at,
            defaults: Default::default(),
        });
        Ok(())
    }
}

/// The Starlark frames of the current call, outermost first, as root-relative file:line
/// (the evaluator is given root-relative file names).
pub fn call_stack(eval: &Evaluator<'_, '_, '_>) -> Vec<Site> {
    let mut sites: Vec<Site> = eval
        .call_stack()
        .frames
        .iter()
        .filter_map(|f| f.location.as_ref())
        .map(|loc| {
            let r = loc.resolve();
            Site {
                file: PathBuf::from(r.file),
                line: r.span.begin.line + 1,
            }
        })
        .collect();
    sites.dedup();
    sites
}

/// A value as JSON: attrs are data; what is not (a function, a Buck2 object) is its repr.
fn to_json(v: Value) -> serde_json::Value {
    v.to_json_value()
        .unwrap_or_else(|_| serde_json::Value::String(v.to_repr()))
}

/// Any value Buck2 would provide and the evaluation does not model: attribute access,
/// calls, indexing and operators all give another `Opaque`.
#[derive(Debug, ProvidesStaticType, Allocative, Clone)]
pub struct Opaque(pub String);
starlark_simple_value!(Opaque);

impl fmt::Display for Opaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.0)
    }
}

impl Serialize for Opaque {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[starlark_value(type = "buck2_value")]
impl<'v> StarlarkValue<'v> for Opaque {
    fn invoke(
        &self,
        _me: Value<'v>,
        _args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        // The prelude's attr helpers (`buck.labels_arg()`, `…_args()` in decls/) return a dict
        // of attrs that rule definitions merge with `|`: a dict has to stand in for them, as
        // `dict | x` takes nothing else.
        let called = self.0.rsplit('.').next().unwrap_or_default();
        if called.ends_with("_arg") || called.ends_with("_args") {
            return Ok(eval
                .heap()
                .alloc(starlark::values::dict::AllocDict(std::iter::empty::<(
                    String,
                    String,
                )>())));
        }
        Ok(eval.heap().alloc(Opaque(format!("{}()", self.0))))
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Opaque(format!("{}.{attribute}", self.0))))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }

    fn at(&self, _index: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Opaque(format!("{}[]", self.0))))
    }

    fn add(&self, _rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(self.clone())))
    }

    fn radd(&self, _lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(self.clone())))
    }

    fn equals(&self, other: Value<'v>) -> starlark::Result<bool> {
        Ok(Opaque::from_value(other).is_some_and(|o| o.0 == self.0))
    }

    // A Buck2 type used as a value (`provider(fields = {"a": dict[str, Artifact]})`): any.
    // (`A | B` then is the union type starlark derives from this.)
    fn eval_type(&self) -> Option<starlark::typing::Ty> {
        Some(starlark::typing::Ty::any())
    }
}

/// What `provider()` returns: calling it gives a struct of the fields passed.
#[derive(Debug, ProvidesStaticType, Allocative, Clone, Serialize)]
pub struct ProviderType;
starlark_simple_value!(ProviderType);

impl fmt::Display for ProviderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<provider>")
    }
}

#[starlark_value(type = "provider_callable")]
impl<'v> StarlarkValue<'v> for ProviderType {
    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let fields = args.names_map()?;
        Ok(eval.heap().alloc(AllocStruct(
            fields.into_iter().map(|(k, v)| (k.as_str().to_owned(), v)),
        )))
    }

    // `GccReleaseInfo.type` and the like.
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Opaque(format!("provider.{attribute}"))))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }

    // Used as a type (`list[GccReleaseInfo]`): any.
    fn eval_type(&self) -> Option<starlark::typing::Ty> {
        Some(starlark::typing::Ty::any())
    }
}

/// What `rule()` returns: calling it records a target of this rule.
#[derive(Debug, ProvidesStaticType, Allocative, Clone)]
pub struct RuleValue {
    /// Index in [`Recorder::rules`].
    id: usize,
}
starlark_simple_value!(RuleValue);

impl fmt::Display for RuleValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<rule #{}>", self.id)
    }
}

impl Serialize for RuleValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[starlark_value(type = "rule")]
impl<'v> StarlarkValue<'v> for RuleValue {
    fn export_as(
        &self,
        variable_name: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<()> {
        // Like Buck2: a rule is named by the first top-level variable it is assigned to.
        let recorder = Recorder::of(eval)?;
        if let Some(rule) = recorder.rules.borrow_mut().get_mut(self.id) {
            rule.name.get_or_insert_with(|| variable_name.to_owned());
        }
        Ok(())
    }

    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let recorder = Recorder::of(eval)?;
        let rule = recorder.rules.borrow().get(self.id).cloned();
        let Some(rule) = rule else {
            return Err(anyhow::anyhow!("unknown rule #{}", self.id).into());
        };
        let kind = rule.name.unwrap_or_else(|| "<anonymous rule>".to_owned());
        recorder.record(&kind, Some(rule.defined_at), args, eval)?;
        Ok(Value::new_none())
    }
}

/// `native` in a .bzl file: every attribute is a [`NativeFn`].
#[derive(Debug, ProvidesStaticType, Allocative, Clone, Serialize)]
pub struct Native;
starlark_simple_value!(Native);

impl fmt::Display for Native {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("native")
    }
}

#[starlark_value(type = "native")]
impl<'v> StarlarkValue<'v> for Native {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(NativeFn(attribute.to_owned())))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }
}

/// A native rule (`http_archive`, `toolchain_alias`, …) or a native function reached as
/// `native.X`: functions forward to the global of that name, anything else records a target.
#[derive(Debug, ProvidesStaticType, Allocative, Clone)]
pub struct NativeFn(pub String);
starlark_simple_value!(NativeFn);

impl fmt::Display for NativeFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<native {}>", self.0)
    }
}

impl Serialize for NativeFn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[starlark_value(type = "native_function")]
impl<'v> StarlarkValue<'v> for NativeFn {
    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let recorder = Recorder::of(eval)?;
        let global = recorder
            .globals
            .iter()
            .find(|(n, _)| *n == self.0.as_str())
            .map(|(_, v)| v);
        match global {
            Some(f) => {
                let heap = eval.heap();
                let positional: Vec<Value> = args.positions(heap)?.collect();
                let names = args.names_map()?;
                let named: Vec<(&str, Value)> =
                    names.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                eval.eval_function(f.to_value(), &positional, &named)
            }
            // A symbol of a file Buck2 provides itself (a bundled prelude, a cell not checked
            // out) may be a function rather than a rule: called the way no rule is called
            // (positional arguments, no `name`), it gives an opaque value. Buck2's own
            // download rules are always rules.
            None if !is_rule_call(args)?
                && !super::NATIVE_DOWNLOAD_RULES.contains(&self.0.as_str()) =>
            {
                Ok(eval.heap().alloc(Opaque(format!("{}()", self.0))))
            }
            None => {
                recorder.record(&self.0, None, args, eval)?;
                Ok(Value::new_none())
            }
        }
    }

    // `LinkOrdering.values()`: an enum or struct of such a file.
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Opaque(format!("{}.{attribute}", self.0))))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }
    // A table such a file gives (`releases["0.12.0"]["x86_64-linux"]["tarball"]` from the
    // bundled prelude's zig `releases.bzl`, in cbarrete/pyo3_repro): a value only Buck2 has.
    fn at(&self, _index: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Opaque(format!("{}[]", self.0))))
    }

    // A dict of attrs such a file gives (`internal_tool_attrs | {…}` in thoughtpolice/
    // bucktools' rust rule, from the bundled prelude): merged, it is what it is merged with.
    fn bit_or(&self, other: Value<'v>, _heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(other)
    }
}

/// Whether a call looks like a rule's: keyword arguments only, one of them `name`.
fn is_rule_call(args: &Arguments<'_, '_>) -> starlark::Result<bool> {
    let names = args.names_map()?;
    Ok(args.len()? == names.len() && names.keys().any(|k| k.as_str() == "name"))
}

/// `select({...})`, kept as data: `{"select": {condition: value}}`; `+` keeps both sides.
#[derive(Debug, ProvidesStaticType, Allocative, Clone)]
pub struct Select(#[allocative(skip)] serde_json::Value);
starlark_simple_value!(Select);

impl fmt::Display for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "select({})", self.0)
    }
}

impl Serialize for Select {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[starlark_value(type = "selector")]
impl<'v> StarlarkValue<'v> for Select {
    fn add(&self, rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Select(
            serde_json::json!({"+": [self.0.clone(), to_json(rhs)]}),
        ))))
    }

    fn radd(&self, lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Select(
            serde_json::json!({"+": [to_json(lhs), self.0.clone()]}),
        ))))
    }
}

/// The globals of a BUCK or .bzl file: Starlark's own (with the extensions Buck2 enables)
/// plus the stand-ins.
pub fn globals() -> Globals {
    GlobalsBuilder::extended_by(&[
        LibraryExtension::StructType,
        LibraryExtension::RecordType,
        LibraryExtension::EnumType,
        LibraryExtension::Map,
        LibraryExtension::Filter,
        LibraryExtension::Partial,
        LibraryExtension::Debug,
        LibraryExtension::Print,
        LibraryExtension::Json,
        LibraryExtension::Typing,
        LibraryExtension::Internal,
        LibraryExtension::CallStack,
        LibraryExtension::SetType,
    ])
    .with(buck2_globals)
    .with(buck2_values)
    .with_namespace("__internal__", buck2_internal)
    .build()
}

#[starlark_module]
fn buck2_globals(builder: &mut GlobalsBuilder) {
    /// `rule(impl = …, attrs = {…})`: a rule whose calls are recorded.
    fn rule<'v>(
        #[starlark(kwargs)] _kwargs: SmallMap<String, Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<RuleValue> {
        let defined_at = call_stack(eval).last().cloned().unwrap_or(Site {
            file: PathBuf::new(),
            line: 0,
        });
        let recorder = Recorder::of(eval)?;
        let mut rules = recorder.rules.borrow_mut();
        rules.push(RuleDef {
            name: None,
            defined_at,
        });
        Ok(RuleValue {
            id: rules.len() - 1,
        })
    }

    /// `select({...})`: kept as data for the attrs.
    fn select<'v>(#[starlark(require = pos)] branches: Value<'v>) -> starlark::Result<Select> {
        Ok(Select(serde_json::json!({ "select": to_json(branches) })))
    }

    /// `is_select(x)`: whether `x` is a `select()`. Macros branch on it
    /// (`attrs + {...}` only when not a select); an opaque stand-in would be truthy.
    fn is_select<'v>(#[starlark(require = pos)] value: Value<'v>) -> starlark::Result<bool> {
        Ok(Select::from_value(value).is_some())
    }

    /// The build file's package path within its cell.
    fn package_name<'v>(eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<String> {
        Ok(Recorder::of(eval)?
            .package
            .borrow()
            .as_ref()
            .map(|p| p.path_in_cell.clone())
            .unwrap_or_default())
    }

    fn get_base_path<'v>(eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<String> {
        Ok(Recorder::of(eval)?
            .package
            .borrow()
            .as_ref()
            .map(|p| p.path_in_cell.clone())
            .unwrap_or_default())
    }

    fn get_cell_name<'v>(eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<String> {
        Ok(Recorder::of(eval)?
            .package
            .borrow()
            .as_ref()
            .map(|p| p.cell.clone())
            .unwrap_or_default())
    }

    /// `read_config(section, key, default)` answered from the repo's .buckconfig.
    fn read_config<'v>(
        #[starlark(require = pos)] section: &str,
        #[starlark(require = pos)] key: &str,
        #[starlark(require = pos)] default: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let recorder = Recorder::of(eval)?;
        Ok(match recorder.config.get(section, key) {
            Some(v) => eval.heap().alloc(v),
            None => default.unwrap_or_else(Value::new_none),
        })
    }

    fn read_root_config<'v>(
        #[starlark(require = pos)] section: &str,
        #[starlark(require = pos)] key: &str,
        #[starlark(require = pos)] default: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let recorder = Recorder::of(eval)?;
        Ok(match recorder.config.get(section, key) {
            Some(v) => eval.heap().alloc(v),
            None => default.unwrap_or_else(Value::new_none),
        })
    }

    /// `glob()` answers nothing: no download is named by a source glob.
    fn glob<'v>(
        #[starlark(require = pos)] _include: Value<'v>,
        #[starlark(kwargs)] _kwargs: SmallMap<String, Value<'v>>,
    ) -> starlark::Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Buck2's `host_info()`, for the host the caller chose (linux/x86_64 by default).
    fn host_info<'v>(eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
        let host = Recorder::of(eval)?.host.clone();
        Ok(host_info_value(&host, eval.heap()))
    }

    fn rule_exists(#[starlark(require = pos)] _name: &str) -> starlark::Result<bool> {
        Ok(false)
    }

    fn load_symbols<'v>(
        #[starlark(require = pos)] _symbols: DictRef<'v>,
    ) -> starlark::Result<NoneType> {
        // Buck2 binds the dict's entries in the calling module; nothing later here reads
        // them by name, so only the call is allowed.
        Ok(NoneType)
    }

    /// `provider(fields = …)`: a provider whose instances hold what they are given, for
    /// release tables written as providers (concordia-fsae/firmware's `GccReleaseInfo(url =
    /// …)`, whose fields a macro hands to `http_archive`).
    fn provider<'v>(
        #[starlark(args)] _args: UnpackTuple<Value<'v>>,
        #[starlark(kwargs)] _kwargs: SmallMap<String, Value<'v>>,
    ) -> starlark::Result<ProviderType> {
        Ok(ProviderType)
    }
}

/// Buck2's `__internal__` namespace, which the newest prelude's own BUCK files call
/// (`source_listing_impl` lists `__internal__.sub_packages()` as deps). The sub-packages only
/// feed source listings, never a download, so none are named.
#[starlark_module]
fn buck2_internal(builder: &mut GlobalsBuilder) {
    fn sub_packages() -> starlark::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// Values rather than functions: `native`, and `attrs` whose `attrs.string(…)` schemas nothing
/// here reads.
fn buck2_values(builder: &mut GlobalsBuilder) {
    builder.set("native", Native);
    builder.set("attrs", Opaque("attrs".to_owned()));
}

fn host_info_value<'v>(host: &Host, heap: Heap<'v>) -> Value<'v> {
    let os = ["linux", "macos", "windows", "freebsd"].map(|o| (format!("is_{o}"), host.os == o));
    let arch = [
        "x86_64", "aarch64", "arm", "armeb", "i386", "mips", "mips64", "mipsel", "mipsel64",
        "powerpc", "ppc64", "riscv64", "s390x", "wasm32", "wasm64",
    ]
    .map(|a| (format!("is_{a}"), host.arch == a));
    heap.alloc(AllocStruct([
        ("os", heap.alloc(AllocStruct(os))),
        ("arch", heap.alloc(AllocStruct(arch))),
    ]))
}
