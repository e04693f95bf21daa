// What an agent gets to build an instance: everything from the instance row and the image
// record, so the agent never reads compute's tables.
import type { ImageSpec, InstanceSpec } from '../../../agents/compute/virt/driver.ts';
import type { InstanceRow } from '../db/schema.ts';
import { domainName, flavorOf } from './instances.ts';

export function instanceSpec(row: InstanceRow, image: ImageSpec, flavorJson: string = row.flavor): InstanceSpec {
  return {
    uuid: row.id,
    name: domainName(row.seq),
    displayName: row.display_name,
    projectId: row.project_id,
    userId: row.user_id,
    flavor: flavorOf({ flavor: flavorJson }),
    image,
    nics: [],
    configDrive: row.config_drive
      ? {
        uuid: row.id,
        name: row.display_name,
        hostname: row.hostname,
        ...(row.key_name && row.key_data ? { publicKeys: { [row.key_name]: row.key_data } } : {}),
        ...(row.user_data ? { userData: Buffer.from(row.user_data, 'base64') } : {}),
        meta: JSON.parse(row.metadata) as Record<string, string>,
        availabilityZone: row.availability_zone,
        projectId: row.project_id,
        launchIndex: row.launch_index,
      }
      : null,
    createdAt: row.created_at,
  };
}
