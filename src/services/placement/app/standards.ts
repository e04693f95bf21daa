// The standard resource classes (os-resource-classes, in its order) and the standard traits
// (a subset of os-traits: the ones Nova's drivers and operators use most). Both are written at
// start-up if missing, so a newer Nubo adds names without a migration.
import type { PlacementContext } from './context.ts';

export const STANDARD_RESOURCE_CLASSES = [
  'VCPU', 'MEMORY_MB', 'DISK_GB', 'PCI_DEVICE', 'SRIOV_NET_VF', 'NUMA_SOCKET', 'NUMA_CORE', 'NUMA_THREAD',
  'NUMA_MEMORY_MB', 'IPV4_ADDRESS', 'VGPU', 'VGPU_DISPLAY_HEAD', 'NET_BW_EGR_KILOBIT_PER_SEC',
  'NET_BW_IGR_KILOBIT_PER_SEC', 'PCPU', 'MEM_ENCRYPTION_CONTEXT', 'FPGA', 'PGPU',
  'NET_PACKET_RATE_KILOPACKET_PER_SEC', 'NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC', 'NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC',
];

const x86 = ['AVX', 'AVX2', 'AVX512F', 'AVX512CD', 'AVX512BW', 'AVX512DQ', 'AVX512VL', 'SSE', 'SSE2', 'SSE3', 'SSSE3',
  'SSE41', 'SSE42', 'SSE4A', 'MMX', 'AES', 'VMX', 'SVM', 'FMA3', 'FMA4', 'F16C', 'BMI', 'BMI2', 'ABM', 'TBM', 'CLMUL',
  'SHA', 'MPX', 'SGX', 'TSX', 'XOP', 'AMD_SEV', 'AMD_SVM', 'INTEL_VMX'];
const imageTypes = ['AKI', 'AMI', 'ARI', 'ISO', 'QCOW2', 'RAW', 'VDI', 'VHD', 'VHDX', 'VMDK', 'PLOOP'];
const graphics = ['BOCHS', 'CIRRUS', 'NONE', 'QXL', 'VGA', 'VIRTIO'];
const vifs = ['E1000', 'E1000E', 'NE2K_PCI', 'PCNET', 'RTL8139', 'VIRTIO', 'VMXNET3'];
const buses = ['FDC', 'IDE', 'LXC', 'SATA', 'SCSI', 'UML', 'USB', 'VIRTIO', 'XEN'];
const nicOffloads = ['TSO', 'GRO', 'GSO', 'UFO', 'LRO', 'RX', 'TX', 'SG', 'RXVLAN', 'TXVLAN', 'VXLAN', 'GENEVE'];

export const STANDARD_TRAITS = [
  'COMPUTE_ACCELERATORS', 'COMPUTE_ARCH_AARCH64', 'COMPUTE_ARCH_X86_64', 'COMPUTE_DEVICE_TAGGING', 'COMPUTE_NODE',
  'COMPUTE_NET_ATTACH_INTERFACE', 'COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG', 'COMPUTE_RESCUE_BFV',
  'COMPUTE_SECURITY_TPM_1_2', 'COMPUTE_SECURITY_TPM_2_0', 'COMPUTE_SECURITY_UEFI_SECURE_BOOT', 'COMPUTE_STATUS_DISABLED',
  'COMPUTE_TRUSTED_CERTS', 'COMPUTE_VOLUME_ATTACH', 'COMPUTE_VOLUME_ATTACH_WITH_TAG', 'COMPUTE_VOLUME_EXTEND',
  'COMPUTE_VOLUME_MULTI_ATTACH',
  ...imageTypes.map((t) => `COMPUTE_IMAGE_TYPE_${t}`),
  ...graphics.map((t) => `COMPUTE_GRAPHICS_MODEL_${t}`),
  ...vifs.map((t) => `COMPUTE_NET_VIF_MODEL_${t}`),
  ...buses.map((t) => `COMPUTE_STORAGE_BUS_${t}`),
  ...x86.map((t) => `HW_CPU_X86_${t}`),
  'HW_CPU_HYPERTHREADING', 'HW_NUMA_ROOT',
  'HW_NIC_SRIOV', 'HW_NIC_SRIOV_MULTIQUEUE', 'HW_NIC_SRIOV_TRUSTED', 'HW_NIC_DCB_PFC', 'HW_NIC_ACCEL_SSL', 'HW_NIC_ACCEL_IPSEC',
  ...nicOffloads.map((t) => `HW_NIC_OFFLOAD_${t}`),
  'MISC_SHARES_VIA_AGGREGATE', 'STORAGE_DISK_HDD', 'STORAGE_DISK_SSD',
];

/** Writes the standard classes and traits that are missing (idempotent, safe at every start). */
export async function ensureStandards(ctx: PlacementContext): Promise<void> {
  const at = new Date().toISOString();
  await ctx.db.insertInto('resource_class')
    .values(STANDARD_RESOURCE_CLASSES.map((name, ord) => ({ name, standard: 1, ord, created_at: at, updated_at: at })))
    .onConflict((oc) => oc.column('name').doNothing()).execute();
  await ctx.db.insertInto('trait')
    .values(STANDARD_TRAITS.map((name) => ({ name, standard: 1, created_at: at })))
    .onConflict((oc) => oc.column('name').doNothing()).execute();
}
