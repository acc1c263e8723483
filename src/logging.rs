//! Log lines on stderr: how fields are written. Logged values often carry
//! what a client sent (names, URLs, DocSpace's messages about them), so
//! every field, the message included, has its control characters written as
//! escapes: a CR or LF in a value cannot start a forged log line, and an ESC
//! cannot drive the terminal.

use tracing_subscriber::field::MakeExt as _;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// The field formatter of the server's logs (`fmt().fmt_fields(..)`):
/// `message key=value …`, each escaped.
pub fn fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(|writer: &mut Writer<'_>, field, value| {
        let text = format!("{value:?}");
        if field.name() == "message" {
            write_escaped(writer, &text)
        } else {
            write!(writer, "{field}=")?;
            write_escaped(writer, &text)
        }
    })
    .delimited(" ")
}

/// The longest message a refusal quotes back, in characters: messages quote
/// what the request sent (names, URLs), which must not make answers or log
/// lines huge.
const MAX_MESSAGE: usize = 1000;

/// An error and its sources on one line (`a: b: c`): reqwest's own text
/// leaves out why ("builder error", "error sending request").
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A message fit for an answer and a log line: control characters (CR and
/// LF among them) written as escapes, and at most [`MAX_MESSAGE`] characters.
pub(crate) fn bounded(message: String) -> String {
    if message.chars().count() <= MAX_MESSAGE && !message.chars().any(char::is_control) {
        return message;
    }
    let mut out = String::new();
    for (i, c) in message.chars().enumerate() {
        if i == MAX_MESSAGE {
            out.push_str("… (cut)");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn write_escaped(writer: &mut Writer<'_>, text: &str) -> std::fmt::Result {
    for c in text.chars() {
        if c.is_control() {
            for e in c.escape_default() {
                writer.write_char(e)?;
            }
        } else {
            writer.write_char(c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn logged_values_cannot_forge_lines() {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false)
            .without_time()
            .fmt_fields(super::fields())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let name = "x\r\nERROR forged: admin signed in\u{1b}[2J";
            tracing::info!(tool = %name, "refused `{name}`");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(r"refused `x\r\nERROR forged: admin signed in\u{1b}[2J`"), "{text}");
        assert!(text.contains(r"tool=x\r\nERROR"), "{text}");
    }
}
