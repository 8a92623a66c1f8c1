// Pure renderers from plain data to text: the overview page, a cluster's page
// and /metrics. They take what they show as parameters (the figures of the
// server and of the read side included); they import the event layer and the
// store layer's types only, never serving or ingestion.

export {
  PAGE_CSP,
  PAGE_CSP_DIRECTIVES,
  PAGE_HEADERS,
  type PageAnswer,
  type PageContext,
} from "./page.ts";
export { type OverviewInput, renderOverview } from "./page_overview.ts";
export { type ClusterPageInput, renderClusterPage } from "./page_cluster.ts";
export {
  type BodyFigures,
  clusterMetrics,
  type ConnectionFigures,
  type MetricsInput,
  PROMETHEUS_CONTENT_TYPE,
  type ReadFigures,
  ReceiverCounters,
  receiverMetrics,
} from "./prometheus.ts";
