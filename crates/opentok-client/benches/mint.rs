//! Minting cost per token, next to a bare HMAC (or, for RS256, a bare ring and a bare aws-lc-rs
//! RSA-2048 sign) over a message of the same length measured in the same run, so the figures read
//! as ratios that survive a busy machine.
//!
//! `cargo bench -p opentok-client --bench mint -- --warm-up-time 1 --measurement-time 3`

// criterion_group! expands to an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use opentok_client::{
    t1, ApplicationId, Credentials, Nonce, TokenFormat, TokenSigner, VonagePrivateKey,
};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use secrecy::SecretString;
use sha1::Sha1;
use sha2::Sha256;
use tiny_opentok_domain::{ApiKey, SessionId, TokenOptions, TokenParams};

const SECRET: &str = "1234567890abcdef1234567890abcdef1234567890";
const SID: &str = "1_MX4xMjM0NTZ-flNhdCBNYXIgMTUgMTQ6NDI6MjMgUERUIDIwMTR-MC40OTAxMzAyNX4";
const NOW: u64 = 1_700_000_000;

fn mint(c: &mut Criterion) {
    let signer = TokenSigner::new(&Credentials::new(
        ApiKey::parse("123456").expect("a valid key"),
        SecretString::from(SECRET),
    ));
    let session_id = SessionId::parse(SID).expect("the SDK test id");
    let options = TokenOptions::new(TokenParams::default(), NOW).expect("default options");
    let nonce = Nonce::new(0.5488135039273248).expect("a nonce below 1");

    // The baselines sign a message as long as the token's signed part, with a pre-keyed state.
    let data = t1::data_string(&session_id, &options, NOW, &nonce);
    let jwt = signer
        .jwt_token(&session_id, &options, NOW, &nonce)
        .expect("own session");
    let jws_input_len = jwt.rfind('.').expect("a compact JWS");
    let sha1 = Hmac::<Sha1>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    let sha256 = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    let t1_message = vec![b'x'; data.len()];
    let jwt_message = vec![b'x'; jws_input_len];

    let mut group = c.benchmark_group("mint");
    group.bench_function("baseline_hmac_sha1_same_length", |b| {
        b.iter(|| {
            let mut mac = sha1.clone();
            mac.update(black_box(&t1_message));
            mac.finalize().into_bytes()
        })
    });
    group.bench_function("t1_fixed_nonce", |b| {
        b.iter(|| signer.t1_token(black_box(&session_id), &options, NOW, &nonce))
    });
    group.bench_function("t1_random_nonce", |b| {
        b.iter(|| signer.mint(TokenFormat::T1, black_box(&session_id), &options, NOW))
    });
    group.bench_function("baseline_hmac_sha256_same_length", |b| {
        b.iter(|| {
            let mut mac = sha256.clone();
            mac.update(black_box(&jwt_message));
            mac.finalize().into_bytes()
        })
    });
    group.bench_function("jwt_random_nonce", |b| {
        b.iter(|| signer.mint(TokenFormat::Jwt, black_box(&session_id), &options, NOW))
    });
    group.bench_function("domain_belongs_to_for_comparison", |b| {
        b.iter(|| black_box(&session_id).belongs_to(signer.api_key()))
    });
    group.finish();
}

const APP_ID: &str = "29f760f8-7ce1-46c9-ade3-f2dedee4ed5f";
const VONAGE_SID: &str = "1_MX4yOWY3NjBmOC03Y2UxLTQ2YzktYWRlMy1mMmRlZGVlNGVkNWZ-fjE3MjY0NjI1ODg2NDd-MTF4TGExYmJoelBlR1FHbVhzbWd4STBrfn5-";

fn mint_rs256(c: &mut Criterion) {
    let pem_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/test-only-rsa2048.pem"
    );
    let pem = std::fs::read_to_string(pem_path).expect("the test key");
    let signer = TokenSigner::new(&Credentials::vonage(
        ApplicationId::parse(APP_ID).expect("a UUID"),
        VonagePrivateKey::from_pem(&pem).expect("a 2048-bit key"),
    ));
    let session_id = SessionId::parse(VONAGE_SID).expect("the SDK fixture id");
    let options = TokenOptions::new(TokenParams::default(), NOW).expect("default options");
    let token = signer
        .mint(TokenFormat::Rs256, &session_id, &options, NOW)
        .expect("own session");
    let message = vec![b'x'; token.rfind('.').expect("a compact JWS")];

    // The baseline: the same key straight through ring, no claims, no base64.
    let der = pkcs8_der(&pem);
    let bare = RsaKeyPair::from_pkcs8(&der).expect("the test key");
    let rng = SystemRandom::new();
    let mut signature = vec![0; bare.public().modulus_len()];

    let mut group = c.benchmark_group("mint_rs256");
    group.bench_function("baseline_ring_rsa2048_sign_same_length", |b| {
        b.iter(|| {
            bare.sign(&RSA_PKCS1_SHA256, &rng, black_box(&message), &mut signature)
                .expect("signing works")
        })
    });
    // The same key and message straight through aws-lc-rs, which VonagePrivateKey signs with.
    let bare_lc = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&der).expect("the test key");
    let rng_lc = aws_lc_rs::rand::SystemRandom::new();
    let mut signature_lc = vec![0; bare_lc.public_modulus_len()];
    group.bench_function("baseline_aws_lc_rs_rsa2048_sign_same_length", |b| {
        b.iter(|| {
            bare_lc
                .sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng_lc,
                    black_box(&message),
                    &mut signature_lc,
                )
                .expect("signing works")
        })
    });
    group.bench_function("rs256_random_jti", |b| {
        b.iter(|| signer.mint(TokenFormat::Rs256, black_box(&session_id), &options, NOW))
    });
    group.finish();
}

/// The PKCS#8 DER inside the PEM, decoded by hand so the baseline owes nothing to our reader.
fn pkcs8_der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM base64")
}

criterion_group!(benches, mint, mint_rs256);
criterion_main!(benches);
