// The headers a namespace proxy adds to a guest's request before it reaches the metadata agent
// (Neutron's X-Neutron-Network-ID / X-Neutron-Router-ID and X-Forwarded-For). The proxy always
// overwrites them, so a guest cannot choose them. No imports: ns-proxy.ts starts fast.
export const NETWORK_ID_HEADER = 'x-nubo-network-id';
export const ROUTER_ID_HEADER = 'x-nubo-router-id';
export const FORWARDED_FOR_HEADER = 'x-forwarded-for';

/** The metadata address guests ask, and the port a router namespace's proxy listens on (the router's REDIRECT target). */
export const METADATA_ADDRESS = '169.254.169.254';
export const ROUTER_PROXY_PORT = 9697;
