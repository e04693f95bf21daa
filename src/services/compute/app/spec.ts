// What an agent gets to build an instance: everything from the instance row and the image
// record, so the agent never reads compute's tables.
import type { ImageSpec, InstanceSpec } from '../../../agents/compute/virt/driver.ts';
import type { InstanceRow } from '../db/schema.ts';
import { configDriveInput } from '../metadata/source.ts';
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
    // The same data the metadata service serves (metadata/source.ts).
    configDrive: row.config_drive ? configDriveInput(row) : null,
    createdAt: row.created_at,
  };
}
