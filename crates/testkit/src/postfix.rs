//! A real MTA for tests: an instance of Debian's Postfix of its own (its
//! own configuration directory, queue, data directory and log file, so it
//! neither needs nor touches a system one), listening on 127.0.0.1 only,
//! on free ports: one that requires STARTTLS, one in wrapper mode (implicit
//! TLS, as on port 465) and one that also requires a client certificate.
//! Every listener names itself in the `Received` header (`by starttls.mx.test`
//! …) and Postfix records the TLS session there, so a test sees how a
//! message came in. Mail for any address at example.com lands in one
//! maildir the test reads. Needs root (Postfix's master runs as root) and
//! the `postfix` package, which scripts/test.sh installs.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::test_ca::CertPair;

pub struct Postfix {
    dir: PathBuf,
    /// Requires STARTTLS before MAIL.
    pub starttls_port: u16,
    /// TLS from the first byte.
    pub implicit_port: u16,
    /// STARTTLS and a client certificate signed by the test CA.
    pub mutual_port: u16,
}

/// A message as Postfix delivered it to the maildir.
#[derive(Clone, Debug)]
pub struct DeliveredMail {
    pub raw: String,
}

impl DeliveredMail {
    /// The first header called `name`, its continuation lines joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\n\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.lines() {
            if let Some(value) = found.as_mut() {
                if line.starts_with([' ', '\t']) {
                    value.push(' ');
                    value.push_str(line.trim());
                    continue;
                }
                break;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }

    pub fn body(&self) -> &str {
        self.raw.split_once("\n\n").map(|(_, b)| b).unwrap_or("")
    }
}

fn run(args: &[&str]) -> (bool, String) {
    match Command::new(args[0]).args(&args[1..]).output() {
        Ok(out) => {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            (out.status.success(), text)
        }
        Err(e) => (false, format!("{}: {e}", args[0])),
    }
}

/// Three distinct free ports (held together while chosen, so never the same).
fn free_ports() -> [u16; 3] {
    let held: Vec<TcpListener> = (0..3).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    [0, 1, 2].map(|i| held[i].local_addr().unwrap().port())
}

fn id_of(user: &str) -> u32 {
    let (ok, out) = run(&["id", "-u", user]);
    assert!(ok, "no user {user:?}: is postfix installed? (scripts/test.sh installs it): {out}");
    out.trim().parse().unwrap()
}

impl Postfix {
    /// Starts an instance presenting `server` (a certificate for `localhost`)
    /// that verifies client certificates against `client_ca`.
    pub fn start(server: &CertPair, client_ca: &Path) -> Self {
        assert!(
            Path::new("/usr/sbin/postfix").exists(),
            "Postfix is not installed: scripts/test.sh installs it (apt-get install postfix)"
        );
        let mut last = String::new();
        // Free ports can be taken by someone else before Postfix binds them.
        for _ in 0..3 {
            match Self::try_start(server, client_ca) {
                Ok(p) => return p,
                Err(e) => last = e,
            }
        }
        panic!("Postfix did not start: {last}");
    }

    fn try_start(server: &CertPair, client_ca: &Path) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("twostep-postfix-{}", twostep_app::crypto::new_id()));
        let [starttls_port, implicit_port, mutual_port] = free_ports();
        let p = Self { starttls_port, implicit_port, mutual_port, dir };
        for sub in ["conf", "queue", "data", "mail"] {
            std::fs::create_dir_all(p.dir.join(sub)).unwrap();
        }
        let (postfix_uid, nobody) = (id_of("postfix"), 65534);
        std::os::unix::fs::chown(p.dir.join("data"), Some(postfix_uid), None)
            .map_err(|e| format!("chown: {e} (root needed)"))?;
        std::os::unix::fs::chown(p.dir.join("mail"), Some(nobody), Some(nobody)).unwrap();
        std::fs::write(p.dir.join("conf/main.cf"), p.main_cf(server, client_ca)).unwrap();
        std::fs::write(p.dir.join("conf/master.cf"), p.master_cf()).unwrap();
        let conf = p.dir.join("conf");
        let (ok, out) = run(&["postfix", "-c", conf.to_str().unwrap(), "start"]);
        if !ok {
            return Err(format!("{out}\n{}", p.log()));
        }
        for port in [p.starttls_port, p.implicit_port, p.mutual_port] {
            if !wait_listening(port) {
                return Err(format!("nothing listens on {port}:\n{}", p.log()));
            }
        }
        Ok(p)
    }

    fn main_cf(&self, server: &CertPair, client_ca: &Path) -> String {
        let d = self.dir.display();
        format!(
            "compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
myhostname = mx.test
mydomain = mx.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
relay_domains =
biff = no
virtual_mailbox_domains = example.com
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_CAfile = {ca}
smtpd_tls_security_level = encrypt
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
",
            cert = server.cert.display(),
            key = server.key.display(),
            ca = client_ca.display(),
        )
    }

    fn master_cf(&self) -> String {
        format!(
            "127.0.0.1:{s} inet n - n - - smtpd
  -o myhostname=starttls.mx.test
127.0.0.1:{i} inet n - n - - smtpd
  -o myhostname=implicit.mx.test
  -o smtpd_tls_wrappermode=yes
127.0.0.1:{m} inet n - n - - smtpd
  -o myhostname=mutual.mx.test
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_tls_req_ccert=yes
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
",
            s = self.starttls_port,
            i = self.implicit_port,
            m = self.mutual_port,
        )
    }

    /// Postfix's own log of this instance.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// Every message delivered so far.
    pub fn mails(&self) -> Vec<DeliveredMail> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.join("mail/inbox").join(sub)) {
                files.extend(entries.flatten().map(|e| e.path()));
            }
        }
        files.sort();
        files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).map(|raw| DeliveredMail { raw }).collect()
    }

    /// Waits (up to 20 s) until `n` messages were delivered.
    pub async fn wait_for(&self, n: usize) -> Vec<DeliveredMail> {
        for _ in 0..200 {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {n} delivered messages, got {}; Postfix's log:\n{}", self.mails().len(), self.log());
    }
}

fn wait_listening(port: u16) -> bool {
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let conf = self.dir.join("conf");
        let conf = conf.to_str().unwrap();
        run(&["postfix", "-c", conf, "stop"]);
        for _ in 0..50 {
            if !run(&["postfix", "-c", conf, "status"]).0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
