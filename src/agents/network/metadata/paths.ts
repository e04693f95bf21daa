// Where the metadata agent and its namespace proxies keep their files: <stateDir>/metadata/
// (mode 0700): the agent's socket, and a PID file and a log per proxy, named by namespace.
import { join } from 'node:path';

export const metadataDir = (stateDir: string): string => join(stateDir, 'metadata');
export const metadataSocket = (stateDir: string): string => join(metadataDir(stateDir), 'proxy.sock');
export const proxyPidFile = (stateDir: string, namespace: string): string => join(metadataDir(stateDir), `${namespace}.pid`);
export const proxyLogFile = (stateDir: string, namespace: string): string => join(metadataDir(stateDir), `${namespace}.log`);
