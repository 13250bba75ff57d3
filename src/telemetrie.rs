//! Optional OpenTelemetry traces (`[opentelemetry] point_de_collecte`): one span per request
//! (request id, partner, route pattern, status) exported in OTLP/HTTP (protobuf) by a batch
//! exporter on its own thread. No personal data: the span carries what the log line carries.

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// The exporter's provider (flushed and stopped at shutdown) and the tracing layer.
pub fn demarrer<S>(
    point_de_collecte: &str,
) -> anyhow::Result<(
    SdkTracerProvider,
    tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>,
)>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let exportateur = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", point_de_collecte.trim_end_matches('/')))
        .build()
        .context("opentelemetry.point_de_collecte")?;
    let fournisseur = SdkTracerProvider::builder()
        .with_batch_exporter(exportateur)
        .with_resource(Resource::builder().with_service_name("onde-echanges").build())
        .build();
    let traceur = fournisseur.tracer("onde-echanges");
    Ok((fournisseur, tracing_opentelemetry::layer().with_tracer(traceur)))
}
