//! Python, where Keystone's answers depend on it. Clients see text Python produced: the
//! `repr()` of a value in a jsonschema message, `str()` of a target in a policy check,
//! `%`-formatting of an endpoint URL, what `ast.literal_eval` makes of a rule's kind, how the
//! `iso8601` package reads a timestamp, how `pprint` lays out a schema. Each behaviour is
//! reproduced once, here, for the values keystone-rs handles (JSON, msgpack, bytes).
//!
//! A ground-floor room: it knows nothing of Keystone's subsystems and imports only `error`.

pub mod format;
pub mod iso8601;
pub mod jsonschema;
pub mod literal;
pub mod pprint;
pub mod repr;
pub mod text;

pub use format::{FormatError, percent_format};
pub use literal::{Kind, classify_kind, literal_list};
pub use repr::{float_repr, is_truthy, py_ascii, py_repr, py_str, string_repr, type_name};
