//! `bench-floor`: one actix-web route, `POST /session/{id}/access`, answering 201 with a constant
//! JSON body read once at startup (the harness passes a real access response of our server, so the
//! bytes on the wire match). The request body is read but not parsed; nothing is looked up or signed: it is the floor that a server
//! on this framework, one worker and one core cannot beat.
//!
//! Usage: `bench-floor --addr 127.0.0.1:0 --body-file FILE`. Prints one line,
//! `listening on http://ADDR`, on stdout once it accepts connections. Stops on SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::TcpListener;

use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};

fn usage() -> ! {
    eprintln!("usage: bench-floor --addr HOST:PORT --body-file FILE");
    std::process::exit(2);
}

fn main() -> std::io::Result<()> {
    let mut addr = String::from("127.0.0.1:0");
    let mut body_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or_else(|| usage()),
            "--body-file" => body_file = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let body = Bytes::from(std::fs::read(body_file.unwrap_or_else(|| usage()))?);
    let listener = TcpListener::bind(&addr)?;
    let local = listener.local_addr()?;

    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let body = body.clone();
            App::new().route(
                "/session/{id}/access",
                // Reading the request body matters: actix-http handles a connection whose request
                // payload was left unread far more slowly (about 11k against 80k req/s here), and
                // every real handler reads its body.
                web::post().to(move |_request: Bytes| {
                    let body = body.clone();
                    async move {
                        HttpResponse::Created()
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(1)
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}")?;
        out.flush()?;
        drop(out);
        server.await
    })
}
