//! The ECS API reference's rules for tags (Tag, TagResource): what a tag value may hold. Every
//! task is tagged with its run and item, so a suite's test names obey them, and any other value
//! is made to. RunTask's `startedBy`, which holds the run id too, has a narrower rule of its own.

/// The longest test name: item ids (`REP/SIZE/NAME`) become ECS tag values, which hold at most
/// 256 characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Whether `name` can label results and ECS tasks. The ECS API reference (Tag, TagResource)
/// allows in tag values "letters, numbers, and spaces representable in UTF-8, and the following
/// characters: + - = . _ : / @", up to 256 characters; a name outside that would fail RunTask
/// after the run had started.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.trim().is_empty() {
        return Err("is empty; give the test a name or remove the key".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "is longer than {MAX_NAME_CHARS} characters; shorten it"
        ));
    }
    if let Some(bad) = name.chars().find(|c| !is_tag_char(*c)) {
        return Err(format!(
            "contains {bad:?}; use letters, digits, spaces and + - = . _ : / @ (ECS tag rules)"
        ));
    }
    Ok(())
}

/// A character ECS allows in tag keys and values.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "+-=._:/@".contains(c)
}

/// A tag value ECS accepts (Tag in the API reference: letters, digits, spaces and
/// `+ - = . _ : / @`, at most 256 characters). Suite names are checked at load; this keeps any
/// other value (a run id given by another tool) from failing RunTask.
pub(crate) fn tag_value(value: &str) -> String {
    value
        .chars()
        .map(|c| if is_tag_char(c) { c } else { '_' })
        .take(256)
        .collect()
}

/// The longest `startedBy` RunTask takes.
pub const MAX_STARTED_BY: usize = 128;

/// A `startedBy` value RunTask accepts: "Up to 128 letters (uppercase and lowercase), numbers,
/// hyphens (-), forward slash (/), and underscores (_) are allowed" (RunTask in the API
/// reference, `startedBy`). Narrower than a tag value: a run id given by a library caller or
/// `--run` with `.`, `:`, `@` or a space would otherwise fail every RunTask. Anything else
/// becomes `_`. ListTasks filters on the same value, and the run tag (which keeps the id as
/// written) tells apart two ids that map to one `startedBy`.
pub(crate) fn started_by(run_id: &str) -> String {
    let value: String = run_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-/_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX_STARTED_BY)
        .collect();
    if value.is_empty() {
        "_".into()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23, item 8 (N15): `startedBy` holds only letters, digits, `-`, `/` and `_`, at
    /// most 128 of them, whatever the run id.
    #[test]
    fn started_by_is_what_run_task_accepts() {
        assert_eq!(started_by("20261206-0458-ab12"), "20261206-0458-ab12");
        assert_eq!(started_by("team/run_1"), "team/run_1");
        assert_eq!(started_by("run 1.2:x@y+z=é"), "run_1_2_x_y_z__");
        let long = started_by(&"r".repeat(300));
        assert_eq!(long.len(), MAX_STARTED_BY);
        assert_eq!(started_by(""), "_");
        for id in ["a.b", "ünï cödé", "x:y/z@w", &"é".repeat(200)] {
            let v = started_by(id);
            assert!(
                !v.is_empty()
                    && v.len() <= MAX_STARTED_BY
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-/_".contains(c)),
                "{id:?} -> {v:?}"
            );
        }
        // A tag value keeps what startedBy may not.
        assert_eq!(tag_value("run 1.2"), "run 1.2");
    }

    #[test]
    fn tag_values_are_what_ecs_accepts() {
        assert_eq!(tag_value("1/1x2/tcp-rr P4 @1G"), "1/1x2/tcp-rr P4 @1G");
        assert_eq!(tag_value("a,b#c"), "a_b_c");
        assert_eq!(tag_value(&"x".repeat(300)).len(), 256);
    }
}
