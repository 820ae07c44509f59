//! `udev/70-otapush.rules`: every line is checked against udev's rule grammar (keys, attributes,
//! operators, quoting, labels), by `udevadm test` too when it is installed and we are root; and
//! the rules must claim the AT port of every modem of the spec'd set and of every board profile
//! (`board/*.toml`, `[device] usb_ids`, `at_interface`), and only that port.

use otapush_test_support::packaging::{find_tool, is_root, read_repo_file, repo_file, run};
use std::collections::{HashMap, HashSet};
use std::process::Command;

const RULES: &str = "udev/70-otapush.rules";
const ACTION_LABEL: &str = "otapush_at_port";

/// One `KEY{attr}OP"value"` item of a rule.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    key: String,
    attr: Option<String>,
    op: String,
    value: String,
}

/// Parses one rule line (udev(7) grammar); `Err` says what is wrong and where.
fn parse_rule(line: &str) -> Result<Vec<Item>, String> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut items = Vec::new();
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        if !items.is_empty() {
            if b[i] != b',' {
                return Err(format!("expected ',' at column {i}"));
            }
            i += 1;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_uppercase() || b[i] == b'_') {
            i += 1;
        }
        let key = line[start..i].to_string();
        if key.is_empty() {
            return Err(format!("expected a key at column {start}"));
        }
        let mut attr = None;
        if i < b.len() && b[i] == b'{' {
            let close = line[i..].find('}').ok_or(format!("unclosed '{{' at column {i}"))? + i;
            attr = Some(line[i + 1..close].to_string());
            i = close + 1;
        }
        let op = ["==", "!=", "+=", "-=", ":=", "="]
            .into_iter()
            .find(|op| line[i..].starts_with(op))
            .ok_or(format!("expected an operator after {key} at column {i}"))?;
        i += op.len();
        if i >= b.len() || b[i] != b'"' {
            return Err(format!("value of {key} is not quoted (column {i})"));
        }
        let close = line[i + 1..].find('"').ok_or(format!("unbalanced quote after {key}"))? + i + 1;
        let value = line[i + 1..close].to_string();
        i = close + 1;
        items.push(Item { key, attr, op: op.to_string(), value });
    }
    if items.is_empty() {
        return Err("empty rule".into());
    }
    for it in &items {
        check_item(it)?;
    }
    Ok(items)
}

/// Which operators and attribute forms each key accepts (udev(7), systemd 252).
fn check_item(it: &Item) -> Result<(), String> {
    const MATCH: &[&str] = &["==", "!="];
    const ASSIGN: &[&str] = &["=", "+=", "-=", ":="];
    let (ops, attr): (Vec<&str>, Option<bool>) = match it.key.as_str() {
        "ACTION" | "DEVPATH" | "KERNEL" | "KERNELS" | "SUBSYSTEM" | "SUBSYSTEMS" | "DRIVER" | "DRIVERS"
        | "TAGS" | "RESULT" | "PROGRAM" => (MATCH.to_vec(), Some(false)),
        "ATTRS" => (MATCH.to_vec(), Some(true)),
        "CONST" => (MATCH.to_vec(), Some(true)),
        "TEST" => (MATCH.to_vec(), None),
        "NAME" => (vec!["==", "!=", "=", ":="], Some(false)),
        "SYMLINK" => ([MATCH, ASSIGN].concat(), Some(false)),
        "TAG" => ([MATCH, ASSIGN].concat(), Some(false)),
        "ENV" => (vec!["==", "!=", "=", "+=", ":="], Some(true)),
        "ATTR" | "SYSCTL" => (vec!["==", "!=", "=", ":="], Some(true)),
        "OWNER" | "GROUP" | "MODE" => (vec!["=", ":="], Some(false)),
        "SECLABEL" => (vec!["=", "+=", ":="], Some(true)),
        "RUN" => (vec!["=", "+=", ":="], None),
        "IMPORT" => (vec!["="], None),
        "OPTIONS" => (vec!["=", "+=", ":="], Some(false)),
        "LABEL" | "GOTO" => (vec!["="], Some(false)),
        other => return Err(format!("unknown key {other}")),
    };
    if !ops.contains(&it.op.as_str()) {
        return Err(format!("{} does not take {}", it.key, it.op));
    }
    match (attr, &it.attr) {
        (Some(true), None) => return Err(format!("{} needs {{attribute}}", it.key)),
        (Some(false), Some(a)) => return Err(format!("{} takes no {{{a}}}", it.key)),
        _ => {}
    }
    if it.key == "MODE" && !(it.value.len() == 4 && it.value.chars().all(|c| ('0'..='7').contains(&c))) {
        return Err(format!("MODE {:?} is not four octal digits", it.value));
    }
    Ok(())
}

fn is_match(it: &Item) -> bool {
    it.op == "==" || it.op == "!="
}

/// The rules of a file: (line number, items); comments and blank lines skipped, `\` joined.
fn parse_file(text: &str) -> Result<Vec<(usize, Vec<Item>)>, String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut first = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if pending.is_empty() {
            first = n + 1;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(line);
        let items = parse_rule(&pending).map_err(|e| format!("line {first}: {e}: {pending}"))?;
        out.push((first, items));
        pending.clear();
    }
    if !pending.is_empty() {
        return Err(format!("line {first}: continuation at end of file"));
    }
    Ok(out)
}

/// Rule-level checks: labels, GOTO targets, and that every rule does something.
fn check_structure(rules: &[(usize, Vec<Item>)]) -> Result<(), String> {
    let mut labels = HashSet::new();
    for (n, items) in rules {
        for it in items.iter().filter(|it| it.key == "LABEL") {
            if !labels.insert(it.value.clone()) {
                return Err(format!("line {n}: LABEL {} twice", it.value));
            }
        }
    }
    // ENV properties tested must be set by an earlier rule (or come from udev's own rules).
    let mut set_env: HashSet<String> = HashSet::new();
    for (n, items) in rules {
        for it in items {
            if it.key == "GOTO" && !labels.contains(&it.value) {
                return Err(format!("line {n}: GOTO {} has no LABEL", it.value));
            }
            if it.key == "ENV" && is_match(it) {
                let name = it.attr.clone().unwrap_or_default();
                if name.starts_with('.') && !set_env.contains(&name) {
                    return Err(format!("line {n}: ENV{{{name}}} tested before any rule sets it"));
                }
            }
        }
        for it in items.iter().filter(|it| it.key == "ENV" && !is_match(it)) {
            set_env.insert(it.attr.clone().unwrap_or_default());
        }
        if items.iter().all(is_match) {
            return Err(format!("line {n}: a rule with only matches does nothing"));
        }
    }
    Ok(())
}

/// udev's shell-style patterns: `|` alternatives, `*`, `?` (no classes in our rules).
fn glob(pattern: &str, s: &str) -> bool {
    fn one(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => one(&p[1..], s) || (!s.is_empty() && one(p, &s[1..])),
            (Some(b'?'), Some(_)) => one(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => one(&p[1..], &s[1..]),
            _ => false,
        }
    }
    assert!(!pattern.contains('['), "character classes are not supported by this checker: {pattern}");
    pattern.split('|').any(|alt| one(alt.as_bytes(), s.as_bytes()))
}

/// A rule that claims a modem's port: the id and interface patterns it tests, and where it jumps.
#[derive(Debug)]
struct ModemRule {
    line: usize,
    vendor: String,
    product: Option<String>,
    ifnum: Option<String>,
    ifclass: Option<String>,
    goto: Option<String>,
}

fn modem_rules(rules: &[(usize, Vec<Item>)]) -> Vec<ModemRule> {
    let get = |items: &[Item], key: &str, attr: &str| {
        items
            .iter()
            .find(|i| i.key == key && i.attr.as_deref() == Some(attr) && i.op == "==")
            .map(|i| i.value.clone())
    };
    rules
        .iter()
        .filter_map(|(n, items)| {
            Some(ModemRule {
                line: *n,
                vendor: get(items, "ATTRS", "idVendor")?,
                product: get(items, "ATTRS", "idProduct"),
                ifnum: get(items, "ENV", ".OTAPUSH_IFNUM"),
                ifclass: get(items, "ENV", ".OTAPUSH_IFCLASS"),
                goto: items.iter().find(|i| i.key == "GOTO").map(|i| i.value.clone()),
            })
        })
        .collect()
}

fn load() -> Vec<(usize, Vec<Item>)> {
    let rules = parse_file(&read_repo_file(RULES)).unwrap_or_else(|e| panic!("{RULES}: {e}"));
    check_structure(&rules).unwrap_or_else(|e| panic!("{RULES}: {e}"));
    rules
}

/// How a modem's AT port is told apart from its other ports.
enum Port {
    Interface(&'static str),
    Class(&'static [&'static str]),
}

/// The modems named by the packaging issue and ModemManager's port-type rules (docs/modem.md, Profiles).
const SPEC: &[(&str, &str, Port)] = &[
    ("Quectel EC25/EG25-G", "2c7c:0125", Port::Interface("02")),
    ("SIMCom SIM7600", "1e0e:9001", Port::Interface("02")),
    ("Huawei E3372 stick firmware", "12d1:1506", Port::Class(&["ff/01/02", "ff/02/02"])),
    ("u-blox LARA-R2", "1546:110a", Port::Interface("00")),
    ("Telit LE910C1-EUX", "1bc7:1031", Port::Interface("01")),
];

fn rules_for<'a>(rules: &'a [ModemRule], id: &str) -> Vec<&'a ModemRule> {
    let (v, p) = id.split_once(':').unwrap_or_else(|| panic!("USB id {id:?} is not vvvv:pppp"));
    assert!(
        [v, p]
            .iter()
            .all(|h| h.len() == 4 && h.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())),
        "USB id {id:?} is not lower-case vvvv:pppp"
    );
    rules.iter().filter(|r| glob(&r.vendor, v) && r.product.as_deref().is_none_or(|pp| glob(pp, p))).collect()
}

#[test]
fn every_rule_line_is_well_formed() {
    let rules = load();
    let file = repo_file(RULES);
    let n: u32 = file.file_name().unwrap().to_string_lossy()[..2].parse().expect("numbered rules file");
    assert!(n < 80, "{RULES} must sort before ModemManager's 80-mm-candidate.rules");
    // First the ACTION filter, then the tty filter, both jumping past everything.
    let end = rules.last().unwrap().1[0].value.clone();
    let first = &rules[0].1;
    assert!(first
        .iter()
        .any(|i| i.key == "ACTION" && i.op == "!=" && glob(&i.value, "add") && glob(&i.value, "bind")));
    assert!(!first.iter().any(|i| i.key == "ACTION" && glob(&i.value, "remove")));
    assert!(first.iter().any(|i| i.key == "GOTO" && i.value == end));
    assert!(rules[1].1.iter().any(|i| i.key == "SUBSYSTEM" && i.op == "!=" && i.value == "tty"));

    // What the rules do to the claimed port.
    let at = rules
        .iter()
        .position(|(_, items)| items.iter().any(|i| i.key == "LABEL" && i.value == ACTION_LABEL))
        .expect("no action label");
    let actions = &rules[at + 1].1;
    let want = [
        ("SYMLINK", None, "+=", "modem-at"),
        ("GROUP", None, "=", "dialout"),
        ("MODE", None, "=", "0660"),
        ("ENV", Some("ID_MM_PORT_IGNORE"), "=", "1"),
        ("TAG", None, "+=", "systemd"),
        ("ENV", Some("SYSTEMD_WANTS"), "+=", "otapushd.service"),
    ];
    for (key, attr, op, value) in want {
        let item =
            Item { key: key.into(), attr: attr.map(str::to_string), op: op.into(), value: value.into() };
        assert!(actions.contains(&item), "the port actions lack {item:?}");
    }
}

#[test]
fn the_checker_rejects_broken_rules() {
    let bad = [
        r#"FOO=="x", GOTO="e""#,
        r#"KERNEL=="tty1", SYMLINK+="x"#,
        r#"ATTRS{idVendor}="2c7c", GOTO="e""#,
        r#"ATTR=="x", GOTO="e""#,
        r#"SUBSYSTEM=="tty" GOTO="e""#,
        r#"MODE="660""#,
        r#"GROUP=dialout"#,
    ];
    for line in bad {
        assert!(parse_rule(line).is_err(), "accepted: {line}");
    }
    let rules = parse_file("GOTO=\"nowhere\"\n").unwrap();
    assert!(check_structure(&rules).is_err());
    let rules = parse_file("ENV{.X}==\"1\", GOTO=\"e\"\nLABEL=\"e\"\n").unwrap();
    assert!(check_structure(&rules).is_err(), "unset private property accepted");
    let rules = parse_file("KERNEL==\"ttyS0\"\n").unwrap();
    assert!(check_structure(&rules).is_err(), "match-only rule accepted");
}

#[test]
fn udev_itself_parses_the_rules_without_complaint() {
    let Some(udevadm) = find_tool("udevadm") else {
        eprintln!("NOTE: udevadm not installed (Debian: udev); only this crate's checker ran");
        return;
    };
    if !is_root() {
        eprintln!("NOTE: not root: udevadm test needs a private mount namespace; skipped");
        return;
    }
    // udevadm test reads only the standard rule directories: show it ours alone, in a private
    // mount namespace, against a tty every Linux has (/sys/class/tty/tty1, no USB parent).
    let check = |text: &str| -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("70-otapush.rules"), text).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let script = "mount --bind \"$1\" /etc/udev/rules.d && mount --bind \"$2\" /usr/lib/udev/rules.d && \
                      mount -t tmpfs none /run/udev 2>/dev/null; exec \"$3\" test --action=add /sys/class/tty/tty1";
        let (_, out, err) = run(Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c", script, "sh"])
            .arg(dir.path())
            .arg(empty.path())
            .arg(&udevadm));
        let all = format!("{out}{err}");
        assert!(all.contains("Reading rules file"), "udevadm test did not read our rules:\n{all}");
        all.lines().filter(|l| l.contains("70-otapush.rules:")).map(|l| format!("{l}\n")).collect()
    };
    let text = read_repo_file(RULES);
    let complaints = check(&text);
    assert!(complaints.is_empty(), "udev complains about {RULES}:\n{complaints}");
    // Control: udev does complain about a broken copy, so silence above means something.
    let complaints = check(&text.replace("SYMLINK+=\"modem-at\"", "SYMLINKS+=\"modem-at\""));
    assert!(!complaints.is_empty(), "udev did not notice an unknown key");
}

#[test]
fn every_spec_modem_has_exactly_its_at_port_claimed() {
    let rules = load();
    let modems = modem_rules(&rules);
    for r in &modems {
        assert_eq!(r.goto.as_deref(), Some(ACTION_LABEL), "line {}: does not jump to the actions", r.line);
        assert!(r.ifnum.is_some() || r.ifclass.is_some(), "line {}: claims every port of the device", r.line);
    }
    for (modem, id, port) in SPEC {
        let matching = rules_for(&modems, id);
        assert!(!matching.is_empty(), "{modem} {id}: no rule");
        for r in matching {
            match port {
                Port::Interface(want) => {
                    let pat = r.ifnum.as_deref().unwrap_or_else(|| panic!("{modem}: line {} no if#", r.line));
                    for n in 0..10 {
                        let num = format!("{n:02}");
                        assert_eq!(glob(pat, &num), num == *want, "{modem}: line {} on if#{num}", r.line);
                    }
                }
                Port::Class(want) => {
                    let pat =
                        r.ifclass.as_deref().unwrap_or_else(|| panic!("{modem}: line {} no class", r.line));
                    for c in *want {
                        assert!(glob(pat, c), "{modem}: line {} misses class {c}", r.line);
                    }
                    for c in ["ff/01/01", "ff/02/01", "ff/ff/ff", "02/06/00"] {
                        assert!(!glob(pat, c), "{modem}: line {} claims class {c} (not AT)", r.line);
                    }
                }
            }
        }
    }
}

#[test]
fn every_board_profile_usb_id_has_a_rule() {
    let rules = load();
    let modems = modem_rules(&rules);
    let mut checked = HashMap::new();
    let dir = repo_file("board");
    let entries = std::fs::read_dir(&dir).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    for e in entries {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(device) = doc.get("device").and_then(|d| d.as_table()) else { continue };
        let Some(ids) = device.get("usb_ids").and_then(|v| v.as_array()) else { continue };
        let at_if = device.get("at_interface").and_then(|v| v.as_str());
        for id in ids {
            let id = id.as_str().unwrap_or_else(|| panic!("{}: usb_ids holds a non-string", path.display()));
            let matching = rules_for(&modems, id);
            assert!(!matching.is_empty(), "{}: no rule in {RULES} for {id}", path.display());
            if let Some(want) = at_if {
                for r in &matching {
                    // A class-matched rule (Huawei) does not depend on the interface number.
                    if let Some(pat) = &r.ifnum {
                        assert!(
                            glob(pat, want),
                            "{}: {id} AT if#{want}, rule line {} has {pat}",
                            path.display(),
                            r.line
                        );
                    }
                }
            }
            checked.insert(id.to_string(), path.display().to_string());
        }
    }
    eprintln!("board profile USB ids checked: {checked:?}");
}

/// The example for phones where ModemManager keeps the modem (docs/mms.md).
const SECONDARY: &str = "udev/71-otapush-secondary-port.rules";

#[test]
fn the_secondary_port_example_claims_only_the_eg25_secondary_at_port() {
    let text = read_repo_file(SECONDARY);
    let rules = parse_file(&text).unwrap_or_else(|e| panic!("{SECONDARY}: {e}"));
    check_structure(&rules).unwrap_or_else(|e| panic!("{SECONDARY}: {e}"));
    let modems = modem_rules(&rules);
    assert_eq!(modems.len(), 1, "{SECONDARY}: one modem rule");
    let r = &modems[0];
    assert_eq!(r.goto.as_deref(), Some(ACTION_LABEL), "line {}", r.line);
    assert_eq!((r.vendor.as_str(), r.product.as_deref()), ("2c7c", Some("0125")));
    let pat = r.ifnum.as_deref().expect("an interface number");
    for n in 0..10 {
        let num = format!("{n:02}");
        assert_eq!(glob(pat, &num), num == "03", "line {} on if#{num}", r.line);
    }
    // ID_MM_PORT_IGNORE is set by the action rule only, which only the claimed port reaches.
    let ignore: Vec<usize> = rules
        .iter()
        .filter(|(_, items)| items.iter().any(|i| i.attr.as_deref() == Some("ID_MM_PORT_IGNORE")))
        .map(|(n, _)| *n)
        .collect();
    let label = rules
        .iter()
        .position(|(_, items)| items.iter().any(|i| i.key == "LABEL" && i.value == ACTION_LABEL))
        .expect("the action label");
    assert_eq!(ignore, [rules[label + 1].0], "{SECONDARY}: ID_MM_PORT_IGNORE outside the action rule");
}
