//! The ECS API reference's rules for tags (Tag, TagResource): what a tag value may hold. Every
//! task is tagged with its run and item, so a suite's test names obey them, and any other value
//! is made to.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_values_are_what_ecs_accepts() {
        assert_eq!(tag_value("1/1x2/tcp-rr P4 @1G"), "1/1x2/tcp-rr P4 @1G");
        assert_eq!(tag_value("a,b#c"), "a_b_c");
        assert_eq!(tag_value(&"x".repeat(300)).len(), 256);
    }
}
