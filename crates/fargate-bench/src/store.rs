//! The results directory: `run.json` (what ran and how it ended) and `results.jsonl` (one line
//! per finished item, appended and fsynced as each finishes). A crash, SIGKILL or Ctrl-C never
//! loses a finished item, and `--resume` runs only what has no successful line.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use probe_core::Report;
use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result};
use crate::suite::Suite;

const RUN_FILE: &str = "run.json";
const RESULTS_FILE: &str = "results.jsonl";

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still running, or killed without a chance to say so.
    Running,
    /// Every item finished (some may have failed).
    Complete,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
}

/// `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Run id (also the directory name).
    pub run_id: String,
    /// Backend name.
    pub backend: String,
    /// The suite as run.
    pub suite: Suite,
    /// Controller version.
    pub controller_version: String,
    /// RFC 3339 start.
    pub started_at: String,
    /// How it stands.
    pub status: RunStatus,
    /// RFC 3339 end, once ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The command line that started the run, when a CLI started it (for the report's context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// The Fargate capacity its tasks ran on (ECS runs; written since `recommend`, which
    /// prices and limits by it). Absent where sizes were emulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<crate::sizes::Capacity>,
    /// The AWS Region its tasks ran in, as the SDK's own chain resolved it (flags, environment,
    /// profile files); `report` prices the run there unless `--region` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The date of the price table the run was estimated with (the built-in table's, or a
    /// `--prices` file's `as_of`): `report` says it beside the prices it applies now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices_as_of: Option<String>,
}

impl RunMeta {
    /// A run's metadata as it starts: this controller's version, [`RunStatus::Running`], and
    /// no end, command line, capacity, Region or price date yet (set those fields as they are
    /// known).
    pub fn new(
        run_id: impl Into<String>,
        backend: impl Into<String>,
        suite: Suite,
        started_at: impl Into<String>,
    ) -> Self {
        Self {
            run_id: run_id.into(),
            backend: backend.into(),
            suite,
            controller_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: started_at.into(),
            status: RunStatus::Running,
            finished_at: None,
            command_line: None,
            capacity: None,
            region: None,
            prices_as_of: None,
        }
    }
}

/// Whether an item produced its reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// All reports collected.
    Ok,
    /// It failed; `reason` and `last_lines` say why.
    Failed,
}

/// One line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// Plan item id.
    pub id: String,
    /// Test label.
    pub label: String,
    /// Test kind.
    pub kind: String,
    /// Size as `VCPUxGB`.
    pub size: String,
    /// Architecture, when the run named its architectures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<crate::sizes::Arch>,
    /// Repetition.
    pub repetition: u32,
    /// Outcome.
    pub status: ItemStatus,
    /// Reports: the client's first, then the server's (network), or memprobe's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<Report>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The failed task's last output lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_lines: Vec<String>,
    /// What the backend emulated rather than provided (local and docker backends).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emulated: Vec<String>,
    /// How each task of the item came up, from its launch request to running, where the
    /// backend saw it (issue 25, item 3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycles: Vec<TaskLifecycle>,
    /// RFC 3339 end.
    pub finished_at: String,
}

/// One task's way up, in an item's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLifecycle {
    /// The part it played: `server`, `client` or `memory`.
    pub role: String,
    /// Offsets from its launch request.
    #[serde(flatten)]
    pub lifecycle: crate::platform::Lifecycle,
    /// The Fargate platform version it ran on (ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

/// An open results directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    results: File,
    meta: RunMeta,
}

fn store_err(path: &Path) -> impl FnOnce(std::io::Error) -> BenchError + '_ {
    move |source| BenchError::Store {
        path: path.to_owned(),
        source,
    }
}

impl Store {
    /// Creates `root/<run_id>/` with `run.json` and an empty `results.jsonl`.
    ///
    /// # Errors
    /// [`BenchError::Store`] naming the path.
    pub fn create(root: &Path, meta: RunMeta) -> Result<Store> {
        let dir = root.join(&meta.run_id);
        std::fs::create_dir_all(&dir).map_err(store_err(&dir))?;
        let path = dir.join(RESULTS_FILE);
        let results = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(store_err(&path))?;
        let store = Store { dir, results, meta };
        store.write_meta()?;
        Ok(store)
    }

    /// Reopens a directory to resume it; returns the store and the records already there.
    ///
    /// # Errors
    /// [`BenchError::NotAResultsDir`] or [`BenchError::Store`].
    pub fn reopen(dir: &Path) -> Result<(Store, Vec<ItemRecord>)> {
        let (mut meta, records) = load(dir)?;
        if let Some(aside) = repair_torn_tail(dir)? {
            eprintln!(
                "warning: {} ended in a torn line (a crash or a full disk mid-write); its bytes \
                 were set aside in {} and the run resumes after the last whole record",
                dir.join(RESULTS_FILE).display(),
                aside.display()
            );
        }
        meta.status = RunStatus::Running;
        meta.finished_at = None;
        let path = dir.join(RESULTS_FILE);
        let results = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(store_err(&path))?;
        let store = Store {
            dir: dir.to_owned(),
            results,
            meta,
        };
        store.write_meta()?;
        Ok((store, records))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The run's metadata.
    pub fn meta(&self) -> &RunMeta {
        &self.meta
    }

    /// Appends one record and forces it to disk before returning.
    ///
    /// # Errors
    /// [`BenchError::Store`].
    ///
    /// A write that fails (a full disk) is cut back off the file, so no torn line is left
    /// behind and the space it took is free again for `run.json`.
    pub fn append(&mut self, record: &ItemRecord) -> Result<()> {
        let path = self.dir.join(RESULTS_FILE);
        let mut line = serde_json::to_string(record).expect("records serialize");
        line.push('\n');
        let whole = self.results.metadata().map_err(store_err(&path))?.len();
        let written = self
            .results
            .write_all(line.as_bytes())
            .and_then(|()| self.results.sync_data());
        if let Err(e) = written {
            let _ = self.results.set_len(whole);
            return Err(store_err(&path)(e));
        }
        Ok(())
    }

    /// Records how the run ended.
    ///
    /// # Errors
    /// [`BenchError::Store`].
    pub fn finish(&mut self, status: RunStatus) -> Result<()> {
        self.meta.status = status;
        self.meta.finished_at = Some(now_rfc3339());
        self.write_meta()
    }

    /// Writes run.json atomically (temp file, fsync, rename). On a full disk, where the temp
    /// file finds no room, it rewrites run.json in place instead (its own blocks are freed and
    /// reused): a status that says "running" after the run ended would be worse than a write
    /// that is not atomic.
    fn write_meta(&self) -> Result<()> {
        let path = self.dir.join(RUN_FILE);
        let tmp = self.dir.join(".run.json.tmp");
        let text = serde_json::to_string_pretty(&self.meta).expect("meta serializes");
        let atomic = File::create(&tmp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        match atomic {
            Ok(()) => std::fs::rename(&tmp, &path).map_err(store_err(&path)),
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
                let _ = std::fs::remove_file(&tmp);
                let mut f = OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&path)
                    .map_err(store_err(&path))?;
                f.write_all(text.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(store_err(&path))
            }
            Err(e) => Err(store_err(&tmp)(e)),
        }
    }
}

/// Cuts a last line without its newline off `results.jsonl`, so that what is appended next
/// starts on a line of its own; the cut bytes go to a file next to it, whose path is returned.
///
/// # Errors
/// [`BenchError::Store`].
pub fn repair_torn_tail(dir: &Path) -> Result<Option<PathBuf>> {
    let path = dir.join(RESULTS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(store_err(&path)(e)),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(None);
    }
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let aside = dir.join(format!(
        "{RESULTS_FILE}.torn-{}",
        now_rfc3339().replace([':', '.'], "")
    ));
    std::fs::write(&aside, &bytes[keep..]).map_err(store_err(&aside))?;
    let file = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(store_err(&path))?;
    file.set_len(keep as u64)
        .and_then(|()| file.sync_all())
        .map_err(store_err(&path))?;
    Ok(Some(aside))
}

/// A results directory as read, with what a reader should be told about it.
#[derive(Debug)]
pub struct Loaded {
    /// `run.json`.
    pub meta: RunMeta,
    /// The last record of each item, in file order.
    pub records: Vec<ItemRecord>,
    /// Lines left out (a torn last line), said so instead of dropped silently.
    pub warnings: Vec<String>,
}

/// Reads a results directory. The last record of each item wins; a torn final line (from a
/// crash mid-write) is left out and named in [`Loaded::warnings`]; any other unreadable line
/// is an error naming its number.
///
/// # Errors
/// [`BenchError::NotAResultsDir`] or [`BenchError::Store`].
pub fn load(dir: &Path) -> Result<(RunMeta, Vec<ItemRecord>)> {
    load_checked(dir).map(|l| (l.meta, l.records))
}

/// [`load`], with the warnings.
///
/// # Errors
/// As [`load`].
pub fn load_checked(dir: &Path) -> Result<Loaded> {
    let mut records = Vec::new();
    let (meta, warnings) = fold_records(dir, |rec| records.push(rec))?;
    Ok(Loaded {
        meta,
        records,
        warnings,
    })
}

/// The longest line `results.jsonl` may hold: a record is one item's reports, far smaller; a
/// longer line is damage, named rather than read into memory.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// Reads `run.json` of a results directory.
/// `run.json` alone: what a resumed run will run, without reading its records.
///
/// # Errors
/// [`BenchError::NotAResultsDir`] when it is missing or malformed.
pub fn read_meta(dir: &Path) -> Result<RunMeta> {
    let meta_path = dir.join(RUN_FILE);
    let meta_text =
        crate::files::read_text(&meta_path, crate::files::MAX_CONFIG_BYTES).map_err(|why| {
            BenchError::NotAResultsDir {
                path: dir.to_owned(),
                why: format!("cannot read {RUN_FILE}: {why}"),
            }
        })?;
    serde_json::from_str(&meta_text).map_err(|e| BenchError::NotAResultsDir {
        path: dir.to_owned(),
        why: format!("{RUN_FILE} is malformed: {e}"),
    })
}

/// The ids of the items whose last record is a success: what a resumed run skips.
///
/// # Errors
/// As [`load`].
pub fn finished_ids(dir: &Path) -> Result<std::collections::HashSet<String>> {
    let mut done = std::collections::HashSet::new();
    fold_records(dir, |rec| {
        if rec.status == ItemStatus::Ok {
            done.insert(rec.id);
        }
    })?;
    Ok(done)
}

/// The id of a record line that starts `{"id": "..."` with no escape in the id.
fn leading_id(line: &[u8]) -> Option<&str> {
    fn skip(b: &[u8]) -> &[u8] {
        let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
        &b[n..]
    }
    let rest = skip(line).strip_prefix(b"{")?;
    let rest = skip(rest).strip_prefix(b"\"id\"")?;
    let rest = skip(rest).strip_prefix(b":")?;
    let rest = skip(rest).strip_prefix(b"\"")?;
    let end = rest.iter().position(|c| *c == b'"' || *c == b'\\')?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

/// Calls `each` with the last record of every item, in file order, holding one record at a
/// time: a first pass reads only ids (which line is each item's last), a second decodes those
/// lines. Returns `run.json` and the warnings: a torn last line, or any other line that does
/// not decode, is left out and named by its number, and every other record still counts.
///
/// # Errors
/// [`BenchError::NotAResultsDir`] or [`BenchError::Store`].
pub fn fold_records(
    dir: &Path,
    mut each: impl FnMut(ItemRecord),
) -> Result<(RunMeta, Vec<String>)> {
    use std::io::BufRead as _;
    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }
    let meta = read_meta(dir)?;
    let path = dir.join(RESULTS_FILE);
    let open = || -> Result<Option<std::io::BufReader<File>>> {
        match File::open(&path) {
            Ok(f) => Ok(Some(std::io::BufReader::with_capacity(1 << 20, f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(store_err(&path)(e)),
        }
    };
    // Lines as (number, bytes without the newline, whether it had one); blank lines skipped.
    let next_line =
        |reader: &mut std::io::BufReader<File>, buf: &mut Vec<u8>| -> Result<Option<bool>> {
            loop {
                buf.clear();
                let read = std::io::Read::take(&mut *reader, MAX_RECORD_BYTES as u64 + 1)
                    .read_until(b'\n', buf)
                    .map_err(store_err(&path))?;
                if read == 0 {
                    return Ok(None);
                }
                let ended = buf.last() == Some(&b'\n');
                if ended {
                    buf.pop();
                }
                if buf.len() > MAX_RECORD_BYTES {
                    return Err(BenchError::NotAResultsDir {
                        path: dir.to_owned(),
                        why: format!(
                        "{RESULTS_FILE} holds a line longer than {MAX_RECORD_BYTES} bytes: it is \
                         damaged there"
                    ),
                    });
                }
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(ended));
            }
        };
    let Some(mut reader) = open()? else {
        return Ok((meta, Vec::new()));
    };
    let mut last_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let (mut buf, mut count) = (Vec::new(), 0usize);
    while next_line(&mut reader, &mut buf)?.is_some() {
        count += 1;
        // Records start with their id (the writer's field order): read it without parsing the
        // line, and parse only when that shape is not there. A line with no id is left to the
        // second pass, which names it.
        if let Some(id) = leading_id(&buf) {
            last_of.insert(id.to_owned(), count);
        } else if let Ok(r) = serde_json::from_slice::<IdOnly>(&buf) {
            last_of.insert(r.id, count);
        }
    }
    let mut warnings = Vec::new();
    let Some(mut reader) = open()? else {
        return Ok((meta, warnings));
    };
    let mut n = 0usize;
    while let Some(ended) = next_line(&mut reader, &mut buf)? {
        n += 1;
        match serde_json::from_slice::<ItemRecord>(&buf) {
            Ok(rec) if last_of.get(&rec.id) == Some(&n) => each(rec),
            Ok(_) => {}
            // The last line without its newline: a crash or a full disk mid-write.
            Err(e) if !ended && n == count => warnings.push(format!(
                "{} line {n} is torn (a crash or a full disk mid-write, {} bytes: {e}): left \
                 out; `run --resume` sets it aside and runs that item again",
                path.display(),
                buf.len()
            )),
            // Anything else unreadable is named and left out; every other record still counts.
            Err(e) => warnings.push(format!(
                "{} line {n} is malformed ({e}): left out; `run --resume` runs that item again, \
                 and the line stays for you to inspect",
                path.display()
            )),
        }
    }
    Ok((meta, warnings))
}

/// Now, RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leading_id_is_read_without_parsing() {
        assert_eq!(
            leading_id(br#"{"id":"1/1x2/tcp-rr","label":"x"}"#),
            Some("1/1x2/tcp-rr")
        );
        assert_eq!(leading_id(br#" { "id" : "a b" , "x": 1}"#), Some("a b"));
        assert_eq!(leading_id(br#"{"id":"a\"b"}"#), None, "escapes go to serde");
        assert_eq!(leading_id(br#"{"label":"x","id":"a"}"#), None);
    }

    fn meta() -> RunMeta {
        RunMeta {
            controller_version: "0.1.0".into(),
            ..RunMeta::new("r1", "local", Suite::default_suite(), now_rfc3339())
        }
    }

    fn record(id: &str, status: ItemStatus) -> ItemRecord {
        ItemRecord {
            id: id.into(),
            label: "tcp-rr".into(),
            kind: "tcp-rr".into(),
            size: "1x2".into(),
            arch: None,
            repetition: 1,
            status,
            reports: vec![],
            reason: None,
            last_lines: vec![],
            emulated: vec![],
            finished_at: now_rfc3339(),
            lifecycles: Vec::new(),
        }
    }

    #[test]
    fn appended_records_survive_and_the_last_one_per_item_wins() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), meta()).unwrap();
        store.append(&record("a", ItemStatus::Failed)).unwrap();
        store.append(&record("b", ItemStatus::Ok)).unwrap();
        store.append(&record("a", ItemStatus::Ok)).unwrap();
        let dir = store.dir().to_owned();
        drop(store);
        let (m, recs) = load(&dir).unwrap();
        assert_eq!(m.run_id, "r1");
        let got: Vec<(&str, ItemStatus)> = recs.iter().map(|r| (r.id.as_str(), r.status)).collect();
        assert_eq!(got, [("b", ItemStatus::Ok), ("a", ItemStatus::Ok)]);
    }

    #[test]
    fn a_torn_or_malformed_line_is_named_and_every_other_record_kept() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), meta()).unwrap();
        store.append(&record("a", ItemStatus::Ok)).unwrap();
        let dir = store.dir().to_owned();
        drop(store);
        let path = dir.join(RESULTS_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"id\":\"b\",\"lab").unwrap();
        assert_eq!(load(&dir).unwrap().1.len(), 1);
        // The torn line is now in the middle, and a line with no record follows it: both are
        // named, and the records around them still count.
        f.write_all(b"\n{\"id\":1}\n").unwrap();
        drop(f);
        let mut store = Store::reopen(&dir).unwrap().0;
        store.append(&record("c", ItemStatus::Ok)).unwrap();
        drop(store);
        let loaded = load_checked(&dir).unwrap();
        let ids: Vec<_> = loaded.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("line 2 is malformed"));
        assert!(loaded.warnings[1].contains("line 3 is malformed"));
    }

    /// Issue 14, defect 1: a torn tail plus `--resume` used to make every later read fail.
    #[test]
    fn resume_sets_a_torn_tail_aside_and_the_directory_stays_readable() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), meta()).unwrap();
        store.append(&record("a", ItemStatus::Ok)).unwrap();
        let dir = store.dir().to_owned();
        drop(store);
        let path = dir.join(RESULTS_FILE);
        let torn = b"{\"id\":\"b\",\"lab";
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(torn)
            .unwrap();
        let loaded = load_checked(&dir).unwrap();
        assert_eq!(loaded.records.len(), 1);
        assert_eq!(loaded.warnings.len(), 1, "said, not dropped silently");
        assert!(
            loaded.warnings[0].contains("line 2 is torn"),
            "{:?}",
            loaded.warnings
        );

        let (mut store, records) = Store::reopen(&dir).unwrap();
        assert_eq!(records.len(), 1);
        store.append(&record("b", ItemStatus::Ok)).unwrap();
        store.append(&record("c", ItemStatus::Ok)).unwrap();
        let loaded = load_checked(&dir).unwrap();
        let ids: Vec<&str> = loaded.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert!(loaded.warnings.is_empty());
        let aside: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".torn-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(std::fs::read(aside[0].path()).unwrap(), torn);
    }

    #[test]
    fn reopen_marks_running_and_finish_records_the_end() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::create(root.path(), meta()).unwrap();
        store.finish(RunStatus::Interrupted).unwrap();
        let dir = store.dir().to_owned();
        drop(store);
        assert_eq!(load(&dir).unwrap().0.status, RunStatus::Interrupted);
        let (mut store, _) = Store::reopen(&dir).unwrap();
        assert_eq!(load(&dir).unwrap().0.status, RunStatus::Running);
        store.finish(RunStatus::Complete).unwrap();
        assert_eq!(load(&dir).unwrap().0.status, RunStatus::Complete);
    }

    #[test]
    fn a_random_directory_is_not_a_results_dir() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(BenchError::NotAResultsDir { .. })
        ));
    }
}
