import Testing

/// Every integration suite, run one at a time: they share PostgreSQL clusters and count the
/// server connections a role holds, which parallel suites would disturb.
@Suite(.serialized)
enum IntegrationTests {}
