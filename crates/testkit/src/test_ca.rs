//! A private certificate authority for tests, made with the `openssl`
//! command line as an operator would make a company CA: a CA certificate,
//! server certificates for the names a relay answers to, and client
//! certificates for mutual TLS. Nothing here is twostep's own code, so a
//! test that passes proves twostep works with certificates made elsewhere.
//! Files live in a temporary directory removed when the CA is dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TestCa {
    pub dir: PathBuf,
    /// The CA certificate (PEM): what an operator gives `--outbound-ca-file`.
    pub cert: PathBuf,
    key: PathBuf,
}

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct CertPair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command must be installed (scripts/test.sh installs it)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

impl TestCa {
    pub fn create(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("twostep-ca-{}", twostep_app::crypto::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let subject = format!("/CN={name}");
        let mut args =
            vec!["req", "-x509", "-nodes", "-days", "2", "-subj", &subject, "-keyout", "ca.key", "-out", "ca.crt"];
        args.extend(EC);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &args);
        Self { cert: dir.join("ca.crt"), key: dir.join("ca.key"), dir }
    }

    /// Outbound TLS settings that trust this CA (besides the system's).
    pub fn trusted(&self) -> twostep_delivery::ClientTls {
        twostep_delivery::ClientTls { ca_file: Some(self.cert.clone()), ..Default::default() }
    }

    /// A server certificate for `names` (DNS names; IP addresses as `IP:…`).
    pub fn server_cert(&self, file: &str, names: &[&str]) -> CertPair {
        let sans: Vec<String> =
            names.iter().map(|n| if n.starts_with("IP:") { (*n).to_owned() } else { format!("DNS:{n}") }).collect();
        self.issue(file, names[0], &format!("extendedKeyUsage=serverAuth\nsubjectAltName={}\n", sans.join(",")))
    }

    /// A client certificate for mutual TLS.
    pub fn client_cert(&self, file: &str, common_name: &str) -> CertPair {
        self.issue(file, common_name, "extendedKeyUsage=clientAuth\n")
    }

    fn issue(&self, file: &str, common_name: &str, extensions: &str) -> CertPair {
        let (cert, key, csr, ext) =
            (format!("{file}.crt"), format!("{file}.key"), format!("{file}.csr"), format!("{file}.ext"));
        std::fs::write(
            self.dir.join(&ext),
            format!("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n{extensions}"),
        )
        .unwrap();
        let subject = format!("/CN={common_name}");
        let mut args = vec!["req", "-new", "-nodes", "-subj", &subject, "-keyout", &key, "-out", &csr];
        args.extend(EC);
        openssl(&self.dir, &args);
        let (ca_cert, ca_key) = (self.cert.to_str().unwrap(), self.key.to_str().unwrap());
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                ca_cert,
                "-CAkey",
                ca_key,
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &cert,
                "-extfile",
                &ext,
            ],
        );
        CertPair { cert: self.dir.join(cert), key: self.dir.join(key) }
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
