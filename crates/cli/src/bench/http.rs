//! A minimal keep-alive HTTP/1.1 client for the load generator: one
//! connection per worker, request bytes written by hand, the response read by
//! Content-Length. Light enough that the generator does not steal the CPU the
//! server is being measured on.

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct Conn {
    addr: String,
    stream: BufReader<TcpStream>,
}

impl Conn {
    pub async fn open(addr: &str) -> Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { addr: addr.to_owned(), stream: BufReader::new(stream) })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one request; returns the status and the body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, String)> {
        let authorization = token.map(|t| format!("Bearer {t}"));
        self.send(method, path, authorization.as_deref(), "application/json", body).await
    }

    /// A form POST (the OAuth endpoints) with `authorization` as is.
    pub async fn form(&mut self, path: &str, authorization: &str, body: &str) -> Result<(u16, String)> {
        self.send("POST", path, Some(authorization), "application/x-www-form-urlencoded", Some(body)).await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        content_type: &str,
        body: Option<&str>,
    ) -> Result<(u16, String)> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\nuser-agent: twostep-bench\r\n", self.addr);
        if let Some(a) = authorization {
            head.push_str(&format!("authorization: {a}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("content-type: {content_type}\r\ncontent-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        head.push_str(body);
        self.stream.get_mut().write_all(head.as_bytes()).await?;

        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("bad status line")?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("connection closed");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = vec![0u8; length];
        self.stream.read_exact(&mut buf).await?;
        Ok((status, String::from_utf8_lossy(&buf).into_owned()))
    }
}
