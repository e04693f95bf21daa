// What an agent gets to build an instance: everything from the instance row, the image record
// and the instance's ports, so the agent never reads compute's (or the network's) tables.
import type { NetworkData } from '../../../agents/compute/config-drive.ts';
import type { ImageSpec, InstanceSpec, NicSpec } from '../../../agents/compute/virt/driver.ts';
import type { InstanceRow } from '../db/schema.ts';
import { configDriveInput } from '../metadata/source.ts';
import type { ComputeContext } from './context.ts';
import { domainName, flavorOf } from './instances.ts';
import { guestNetwork } from './network.ts';

export type GuestNetwork = { nics: NicSpec[]; networkData: NetworkData | undefined };

export function instanceSpec(row: InstanceRow, image: ImageSpec, flavorJson: string = row.flavor, guest: GuestNetwork = { nics: [], networkData: undefined }): InstanceSpec {
  return {
    uuid: row.id,
    name: domainName(row.seq),
    displayName: row.display_name,
    projectId: row.project_id,
    userId: row.user_id,
    flavor: flavorOf({ flavor: flavorJson }),
    image,
    nics: guest.nics,
    // The same data the metadata service serves (metadata/source.ts).
    configDrive: row.config_drive ? configDriveInput(row, guest.networkData) : null,
    createdAt: row.created_at,
  };
}

/** The spec with the instance's current ports (boot, rebuild, resize and its revert all define the domain anew). */
export async function buildSpec(ctx: ComputeContext, row: InstanceRow, image: ImageSpec, flavorJson: string = row.flavor): Promise<InstanceSpec> {
  return instanceSpec(row, image, flavorJson, await guestNetwork(ctx, row.id));
}
