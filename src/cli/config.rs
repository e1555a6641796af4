//! `analyze --config xborder.toml`: the options of a repeated run (a quarterly audit) kept
//! in a file. Each key is an `analyze` long option (`sites`, `policy`, `period`, `lang`,
//! `fail_on`, `exclude`, ...); a value is a string, number, boolean (a flag when true) or
//! an array (the option repeated). Relative paths are read from the file's directory.
//!
//! The file's options are placed before the command line's, so an option given on the
//! command line wins (lists add up). The file is hashed into the run id and copied into
//! evidence packs like every other input that can change a verdict.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::Cli;

/// Value names of `analyze` options that take a path.
const PATH_VALUES: &[&str] = &["FILE", "DIR", "KEY", "KEYFILE", "FILE.mmdb", "RUN_DIR"];

/// Expand `analyze --config FILE` into the file's options; any other command line is
/// returned unchanged.
pub fn expand(argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let Some(sub) = argv.iter().position(|a| a == "analyze") else {
        return Ok(argv);
    };
    let mut config = None;
    for (i, a) in argv.iter().enumerate().skip(sub + 1) {
        let text = a.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            config = argv.get(i + 1).map(PathBuf::from);
        } else if let Some(v) = text.strip_prefix("--config=") {
            config = Some(PathBuf::from(v));
        }
    }
    let Some(path) = config else {
        return Ok(argv);
    };
    let options = options_from(&path)?;
    let mut out = argv[..=sub].to_vec();
    out.extend(options);
    out.extend(argv[sub + 1..].iter().cloned());
    Ok(out)
}

/// The command-line arguments a config file stands for.
fn options_from(path: &Path) -> Result<Vec<OsString>, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {name}: {e}"))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
    let cmd = Cli::command();
    let analyze = cmd
        .find_subcommand("analyze")
        .ok_or("the analyze command is missing")?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let arg = analyze
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && !a.is_hide_set())
            .filter(|_| long != "config")
            .ok_or_else(|| {
                format!("{name}: `{key}` is not an analyze option (inputs and --config belong on the command line)")
            })?;
        let is_path = arg
            .get_value_names()
            .is_some_and(|v| v.iter().any(|n| PATH_VALUES.contains(&n.as_str())));
        let values: Vec<&toml::Value> = match value {
            toml::Value::Array(items) => items.iter().collect(),
            v => vec![v],
        };
        for v in values {
            let flag = format!("--{long}");
            match v {
                toml::Value::Boolean(true) => out.push(flag.into()),
                toml::Value::Boolean(false) => {}
                toml::Value::String(s) => {
                    out.push(flag.into());
                    out.push(if is_path && Path::new(s).is_relative() {
                        base.join(s).into_os_string()
                    } else {
                        s.into()
                    });
                }
                toml::Value::Integer(n) => {
                    out.push(flag.into());
                    out.push(n.to_string().into());
                }
                toml::Value::Float(x) => {
                    out.push(flag.into());
                    out.push(x.to_string().into());
                }
                other => {
                    return Err(format!(
                        "{name}: `{key}`: a {} is not an option value (use a string, number, boolean or array)",
                        other.type_str()
                    ))
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn config_options_come_first_and_paths_are_read_from_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("xborder.toml");
        std::fs::write(
            &file,
            "sites = \"sites.toml\"\nperiod = \"2026-Q3\"\nexclude = [\"*.tmp\", \"*.bak\"]\nstrict = true\nquiet = false\nmin_gap_days = 2\n",
        )
        .unwrap();
        let cfg = file.display().to_string();
        let argv = expand(os(&[
            "xborder", "analyze", "logs", "--config", &cfg, "--period", "2026-Q4",
        ]))
        .unwrap();
        let sites = dir.path().join("sites.toml").display().to_string();
        assert_eq!(
            argv,
            os(&[
                "xborder",
                "analyze",
                "--exclude",
                "*.tmp",
                "--exclude",
                "*.bak",
                "--min-gap-days",
                "2",
                "--period",
                "2026-Q3",
                "--sites",
                &sites,
                "--strict",
                "logs",
                "--config",
                &cfg,
                "--period",
                "2026-Q4",
            ])
        );
        // Other commands, and analyze without --config, are left alone.
        let plain = os(&["xborder", "analyze", "logs", "--out", "x"]);
        assert_eq!(expand(plain.clone()).unwrap(), plain);
    }

    #[test]
    fn unknown_keys_and_inputs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("xborder.toml");
        for (body, message) in [
            ("inputs = [\"logs\"]", "`inputs` is not an analyze option"),
            ("colour = \"red\"", "`colour` is not an analyze option"),
            ("sites = { a = 1 }", "a table is not an option value"),
        ] {
            std::fs::write(&file, body).unwrap();
            let err = expand(os(&[
                "xborder",
                "analyze",
                "--config",
                &file.display().to_string(),
            ]))
            .unwrap_err();
            assert!(err.contains(message), "{err}");
        }
    }
}
