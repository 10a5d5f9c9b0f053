//! Generates the gRPC code from the .proto files with protox, so no system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "flowsvault/auth/v1/auth.proto",
        "flowsvault/files/v1/files.proto",
        "flowsvault/janitor/v1/janitor.proto",
        "flowsvault/storage/v1/storage.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["."])?;
    tonic_prost_build::configure()
        // Payload fields become `bytes::Bytes`, so chunks are passed on without copies.
        .bytes(".")
        .compile_fds(descriptors)?;
    Ok(())
}
