//! A real SMTP server for tests: speaks enough ESMTP (EHLO, AUTH PLAIN and
//! LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for lettre to deliver to it,
//! and records every message with the credentials it was sent under. It can
//! refuse the next N messages with a transient 451 to play an outage.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use data_encoding::BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug, Default)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body as sent (dot-unstuffed).
    pub data: String,
    /// (user, password) of the AUTH exchange, if any.
    pub auth: Option<(String, String)>,
}

#[derive(Default)]
struct Shared {
    mails: Mutex<Vec<ReceivedMail>>,
    refuse_next: AtomicUsize,
    refused: AtomicUsize,
}

pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, s.clone()));
            }
        });
        Self { port, shared, task }
    }

    /// Answers the next `n` messages with `451` (try again later).
    pub fn refuse_next(&self, n: usize) {
        self.shared.refuse_next.store(n, Ordering::SeqCst);
    }

    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.shared.mails.lock().unwrap().clone()
    }

    /// Waits (up to 10 s) until `n` messages arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<ReceivedMail> {
        for _ in 0..1000 {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {n} e-mails, got {:?}", self.mails());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 sink.test ESMTP twostep test sink\r\n").await.is_err() {
        return;
    }
    let mut mail = ReceivedMail::default();
    let mut auth = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".into()
        } else if upper.starts_with("HELO") {
            "250 sink.test\r\n".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let arg = command.get(11..).unwrap_or("").trim().to_owned();
            let arg = if arg.is_empty() {
                let _ = write.write_all(b"334 \r\n").await;
                read_line(&mut lines).await
            } else {
                arg
            };
            let decoded = BASE64.decode(arg.as_bytes()).unwrap_or_default();
            let parts: Vec<String> =
                decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            auth = (parts.len() == 3).then(|| (parts[1].clone(), parts[2].clone()));
            "235 2.7.0 accepted\r\n".into()
        } else if upper.starts_with("AUTH LOGIN") {
            let _ = write.write_all(b"334 VXNlcm5hbWU6\r\n").await;
            let user = decode(&read_line(&mut lines).await);
            let _ = write.write_all(b"334 UGFzc3dvcmQ6\r\n").await;
            let password = decode(&read_line(&mut lines).await);
            auth = Some((user, password));
            "235 2.7.0 accepted\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            let refuse = shared.refuse_next.load(Ordering::SeqCst);
            if refuse > 0 {
                shared.refuse_next.store(refuse - 1, Ordering::SeqCst);
                shared.refused.fetch_add(1, Ordering::SeqCst);
                "451 4.3.0 try again later\r\n".into()
            } else {
                mail = ReceivedMail { from: address(&command), auth: auth.clone(), ..ReceivedMail::default() };
                "250 2.1.0 ok\r\n".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(address(&command));
            "250 2.1.5 ok\r\n".into()
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
            let mut data = String::new();
            loop {
                let l = read_line(&mut lines).await;
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push_str("\r\n");
            }
            mail.data = data;
            shared.mails.lock().unwrap().push(std::mem::take(&mut mail));
            "250 2.0.0 queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 ok\r\n".into()
        } else {
            "502 5.5.2 not implemented\r\n".into()
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn read_line(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    let mut l = String::new();
    let _ = lines.read_line(&mut l).await;
    l.trim_end_matches(['\r', '\n']).to_owned()
}

fn decode(b64: &str) -> String {
    String::from_utf8_lossy(&BASE64.decode(b64.trim().as_bytes()).unwrap_or_default()).into_owned()
}

fn address(command: &str) -> String {
    command
        .split_once(':')
        .map(|(_, a)| a)
        .unwrap_or("")
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_matches(['<', '>'])
        .to_owned()
}
