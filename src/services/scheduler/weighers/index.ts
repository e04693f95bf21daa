import { cpuWeigher } from './cpu.ts';
import type { HostWeigher } from './host-weigher.ts';
import { ramWeigher } from './ram.ts';
import { softAffinityWeigher } from './soft-affinity.ts';
import { softAntiAffinityWeigher } from './soft-anti-affinity.ts';

export const WEIGHERS: readonly HostWeigher[] = [ramWeigher, cpuWeigher, softAffinityWeigher, softAntiAffinityWeigher];
