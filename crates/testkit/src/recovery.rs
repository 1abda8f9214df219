//! Helpers for recovery tests, written as an outside client would: real
//! JPEG and PNG files made here (independent minimal encoders, nothing from
//! the server), a hand-built multipart body, reading codes and cancel codes
//! from the outbox, and walking a case to the review queue.

use reqwest::StatusCode;
use serde_json::{Value, json};
use twostep_domain::Role;

use crate::{TestServer, extract_code};

pub const PW: &str = "correct horse battery";

// ---------------------------------------------------------------- images

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Appends a PNG chunk (length, kind, data, CRC computed here, apart from
/// the code under test).
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A real, decodable greyscale PNG (a diagonal gradient), its pixel data
/// zlib-compressed with "stored" deflate blocks. With `metadata`, it also
/// carries a text chunk and an EXIF chunk naming a place.
pub fn png_image(width: u32, height: u32, metadata: bool) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        raw.extend((0..width).map(|x| ((x + y) % 256) as u8));
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    if metadata {
        png_chunk(&mut out, b"tEXt", b"Comment\0taken at home, GPS 51.5007N 0.1246W");
        png_chunk(&mut out, b"eXIf", b"MM\0*\0\0\0\x08GPSLatitude 51.5007");
    }
    png_chunk(&mut out, b"IDAT", &zlib);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn jpeg_segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// A real, decodable baseline greyscale JPEG: a uniform mid-grey picture,
/// each 8×8 block coded as "DC difference 0, end of block" with one-symbol
/// Huffman tables. With `exif`, an APP1 EXIF segment with GPS data and a
/// comment ride along.
pub fn jpeg_image(width: u16, height: u16, exif: bool) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    jpeg_segment(&mut out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    if exif {
        jpeg_segment(&mut out, 0xE1, b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude 51.5007N GPSLongitude 0.1246W");
        jpeg_segment(&mut out, 0xFE, b"shot at home");
    }
    let mut dqt = vec![0u8];
    dqt.extend([1u8; 64]);
    jpeg_segment(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.extend_from_slice(&[1, 1, 0x11, 0]);
    jpeg_segment(&mut out, 0xC0, &sof);
    // One code of length 1 in each table: DC category 0, AC end-of-block.
    let mut one_symbol = |class: u8| {
        let mut t = vec![class];
        let mut counts = [0u8; 16];
        counts[0] = 1;
        t.extend_from_slice(&counts);
        t.push(0);
        jpeg_segment(&mut out, 0xC4, &t);
    };
    one_symbol(0x00);
    one_symbol(0x10);
    jpeg_segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    let blocks = usize::from(width.div_ceil(8)) * usize::from(height.div_ceil(8));
    let bits = blocks * 2; // "0" for DC, "0" for EOB
    let mut scan = vec![0u8; bits / 8];
    if bits % 8 != 0 {
        scan.push(0xFF >> (bits % 8)); // pad with 1-bits
    }
    for byte in scan {
        out.push(byte);
        if byte == 0xFF {
            out.push(0x00);
        }
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

// ------------------------------------------------------------- multipart

/// One part of a multipart form: name, file name, declared type, bytes.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub data: Vec<u8>,
}

pub fn text_part<'a>(name: &'a str, value: &str) -> Part<'a> {
    Part { name, filename: None, content_type: None, data: value.as_bytes().to_vec() }
}

pub fn file_part<'a>(name: &'a str, content_type: &'a str, data: Vec<u8>) -> Part<'a> {
    let filename = if content_type == "image/png" { "photo.png" } else { "photo.jpg" };
    Part { name, filename: Some(filename), content_type: Some(content_type), data }
}

/// (content-type header, body) of a `multipart/form-data` request.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "twostep-test-boundary-7d3f9a";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = p.filename {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(t) = p.content_type {
            body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestServer {
    /// Posts a multipart form; returns the status and the JSON body.
    pub async fn upload(&self, path: &str, token: &str, parts: &[Part<'_>]) -> (StatusCode, Value) {
        let (content_type, body) = multipart(parts);
        let resp = self
            .client()
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("upload");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Every outbox message to `to` (an e-mail or a +E.164 number), newest first.
    pub async fn messages_to(&self, to: &str) -> Vec<Value> {
        self.settle().await;
        let to = to.replace('+', "%2B");
        let (status, body) = self.get(&format!("/api/v1/dev/outbox?to={to}"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// The code in the newest message to `to` that carries one.
    pub async fn code_to(&self, to: &str) -> String {
        let messages = self.messages_to(to).await;
        messages
            .iter()
            .filter_map(|m| m["body"].as_str())
            .filter(|b| b.contains(" code is "))
            .find_map(extract_code)
            .unwrap_or_else(|| panic!("no code sent to {to}: {messages:?}"))
    }

    /// The cancel code in the newest notice to `to` that carries one.
    pub async fn cancel_code_to(&self, to: &str) -> Option<String> {
        self.messages_to(to).await.iter().filter_map(|m| m["body"].as_str()).find_map(|b| {
            b.split_once("cancel code: ").map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_owned())
        })
    }

    /// A staff account made with the app's `add_staff` that has not bound
    /// an authenticator yet, signed in with its password: (account id,
    /// token). It has no staff access (see [`TestServer::staff_with_authenticator`]).
    pub async fn staff(&self, email: &str, role: Role) -> (String, String) {
        let id = self.app.add_staff(email, PW, role).await.expect("add_staff");
        (id, self.session(email, PW).await)
    }

    /// A staff account as staff work: made with `add_staff`, an
    /// authenticator bound, then signed in again with password and
    /// authenticator. The clock stays where it was: the sign-in uses the
    /// code of the next step, which the server accepts as clock drift.
    pub async fn staff_with_authenticator(&self, email: &str, role: Role) -> StaffMember {
        let (id, first) = self.staff(email, role).await;
        let backup_key = self.enrol_totp(&first).await;
        self.post("/api/v1/logout", json!({}), Some(&first)).await;
        let mut staff = StaffMember { id, email: email.to_owned(), token: String::new(), backup_key };
        staff.token = self.staff_second_step(&staff).await;
        staff
    }

    /// Signs a staff member in again with password and authenticator.
    /// Moves the clock on one TOTP step, so that the code is a fresh one
    /// whatever signed in before.
    pub async fn staff_sign_in(&self, staff: &StaffMember) -> String {
        self.clock.advance(crate::TOTP_STEP_S);
        self.staff_second_step(staff).await
    }

    /// The password step, which only leads to the second step, then the
    /// code of the step after now.
    async fn staff_second_step(&self, staff: &StaffMember) -> String {
        let (status, login) = self.login(&staff.email, PW).await;
        assert_eq!(status, StatusCode::OK, "{login}");
        assert_eq!(login["status"], "second_factor_required", "{login}");
        assert!(login["session_token"].is_null(), "{login}");
        let path = format!("/api/v1/login/{}/totp", login["login_id"].as_str().expect("login_id"));
        let code = crate::oathtool(&staff.backup_key, self.now() + crate::TOTP_STEP_S);
        let (status, body) = self.post(&path, json!({"code": code}), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["session_token"].as_str().expect("session_token").to_owned()
    }
}

/// A staff account with an authenticator, signed in with it.
#[derive(Clone, Debug)]
pub struct StaffMember {
    pub id: String,
    pub email: String,
    /// A session made with password and authenticator.
    pub token: String,
    pub backup_key: String,
}

// ------------------------------------------------------------ the owner

/// An account with an authenticator and two security questions.
pub struct Owner {
    pub email: String,
    pub account_id: String,
    pub backup_key: String,
}

/// Sets the security questions of the session's account (in sudo mode):
/// first_pet "Rex", birth_city "Paris".
pub async fn set_questions(s: &TestServer, token: &str) {
    let answers = json!({"answers": [
        {"question_id": "first_pet", "answer": "Rex"},
        {"question_id": "birth_city", "answer": "Paris"},
    ]});
    let (status, body) = s.call("PUT", "/api/v1/me/security-questions", Some(answers), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Signs up `email`, binds an authenticator and sets the security questions
/// (first_pet "Rex", birth_city "Paris").
pub async fn totp_owner(s: &TestServer, email: &str) -> Owner {
    let account_id = s.verified_account(email, PW).await;
    let token = s.session(email, PW).await;
    s.sudo_password(&token).await;
    set_questions(s, &token).await;
    let backup_key = s.enrol_totp(&token).await;
    s.post("/api/v1/logout", json!({}), Some(&token)).await;
    Owner { email: email.to_owned(), account_id, backup_key }
}

/// An open case: (case id, case token).
pub struct Case {
    pub id: String,
    pub token: String,
}

impl Case {
    pub fn path(&self, tail: &str) -> String {
        if tail.is_empty() {
            format!("/api/v1/recovery/{}", self.id)
        } else {
            format!("/api/v1/recovery/{}/{tail}", self.id)
        }
    }
}

/// Passes the password step and opens a case from it.
pub async fn open_case(s: &TestServer, email: &str) -> Case {
    let (status, login) = s.login(email, PW).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    let path = format!("/api/v1/login/{}/recovery", login["login_id"].as_str().expect("login_id"));
    let (status, body) = s.post(&path, json!({}), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Case { id: body["case_id"].as_str().unwrap().into(), token: body["case_token"].as_str().unwrap().into() }
}

/// The identity form with a real passport JPEG and selfie PNG.
pub fn passport_form() -> Vec<Part<'static>> {
    vec![
        text_part("country", "GB"),
        text_part("id_type", "passport"),
        file_part("front", "image/jpeg", jpeg_image(640, 480, true)),
        file_part("selfie", "image/png", png_image(400, 400, true)),
    ]
}

/// Walks a case of `owner` through every step with the right answers and
/// submits it. `items` is the "confirm restore" body.
pub async fn submitted_case(s: &TestServer, owner: &Owner, items: Value) -> Case {
    let case = open_case(s, &owner.email).await;
    submit_case(s, owner, case, items).await
}

/// Walks an open case of `owner` through every step with the right answers
/// and submits it.
pub async fn submit_case(s: &TestServer, owner: &Owner, case: Case, items: Value) -> Case {
    let body = s.post(&case.path("items"), items.clone(), Some(&case.token)).await;
    assert_eq!(body.0, StatusCode::OK, "{}", body.1);
    let sent = s.post(&case.path("codes"), json!({}), Some(&case.token)).await;
    assert_eq!(sent.0, StatusCode::ACCEPTED, "{}", sent.1);
    let email = items["new_email"].as_str().unwrap_or(&owner.email).to_owned();
    let mut codes = json!({"email_code": s.code_to(&email).await});
    if let Some(phone) = items["new_phone"].as_str() {
        codes["phone_code"] = json!(s.code_to(phone).await);
    }
    let verified = s.post(&case.path("codes/verify"), codes, Some(&case.token)).await;
    assert_eq!(verified.0, StatusCode::OK, "{}", verified.1);
    let answers = right_answers(s, &case).await;
    let r = s.post(&case.path("answers"), json!({"answers": answers}), Some(&case.token)).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    let r = s.upload(&case.path("identity"), &case.token, &passport_form()).await;
    assert_eq!(r.0, StatusCode::CREATED, "{}", r.1);
    let r = s.post(&case.path("submit"), json!({}), Some(&case.token)).await;
    assert_eq!(r.0, StatusCode::OK, "{}", r.1);
    assert_eq!(r.1["status"], "pending_review");
    case
}

/// The right answers to every question the case asks, as the owner knows them.
pub async fn right_answers(s: &TestServer, case: &Case) -> Vec<Value> {
    let (status, q) = s.get(&case.path("questions"), Some(&case.token)).await;
    assert_eq!(status, StatusCode::OK, "{q}");
    let opened = s.app.store.account_by_id(&case_account(s, case).await).await.unwrap().unwrap().created_at;
    let (year, month) = twostep_domain::questions::year_month(opened);
    q["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let answer = match q["question_id"].as_str().unwrap() {
                "first_pet" => "  rex ".to_owned(),
                "birth_city" => "PARIS".to_owned(),
                "fact:account_opened" | "fact:authenticator_added" => format!("{year}-{month:02}"),
                other => panic!("unexpected question {other}"),
            };
            json!({"question_id": q["question_id"], "answer": answer})
        })
        .collect()
}

/// The reviewer signed in as `rev` approves the case, and
/// `rev2@example.com` too when its risk asks for a second reviewer; the
/// approval's answer.
pub async fn approve_case(s: &TestServer, case: &Case, rev: &str) -> Value {
    let approve = format!("/api/v1/admin/recovery-cases/{}/approve", case.id);
    let (status, mut decision) = s.post(&approve, json!({"note": "passport matches"}), Some(rev)).await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    if decision["status"] != "approved" {
        let second = s.staff_with_authenticator("rev2@example.com", Role::Reviewer).await.token;
        let (status, again) = s.post(&approve, json!({"note": "agreed"}), Some(&second)).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        decision = again;
    }
    assert_eq!(decision["status"], "approved", "{decision}");
    decision
}

async fn case_account(s: &TestServer, case: &Case) -> String {
    use twostep_app::ports::RecoveryStore;
    s.store.case_by_id(&case.id).await.unwrap().expect("case").case.account_id
}
