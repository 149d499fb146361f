/**
 * The Application health check Argo CD dropped in 1.8. Without it a child Application counts as
 * healthy the moment it exists, so the root's sync waves would not wait for anything. Rendered into
 * argocd-cm through the argo-cd chart's `configs.cm` (charts/argocd.ts). Lua 5.1, as Argo CD runs it.
 */
export const APPLICATION_HEALTH_KEY = 'resource.customizations.health.argoproj.io_Application';

export const APPLICATION_HEALTH_LUA = `-- A child Application is as healthy as it reports, and still progressing while it syncs.
local result = { status = "Progressing", message = "waiting for the Application to report its health" }
local status = obj.status
if status == nil or status.health == nil or status.health.status == nil then
  return result
end
if status.operationState ~= nil and status.operationState.phase == "Running" then
  result.message = "sync running"
  return result
end
local health = status.health.status
if health == "Missing" or health == "Unknown" then
  result.message = "resources not created yet (" .. health .. ")"
  return result
end
if health == "Healthy" and status.sync ~= nil and status.sync.status == "OutOfSync" then
  result.message = "healthy but out of sync: waiting for the sync"
  return result
end
result.status = health
result.message = status.health.message or ""
return result
`;

/**
 * The ExternalSecret health check, for the generated credentials (lib/constructs/generated-secrets.ts).
 * Argo CD's built-in check calls an ExternalSecret Degraded whenever its Ready condition is False. A
 * generated credential's target is immutable on purpose: once the Secret exists, a controller that draws
 * new values (an ExternalSecret applied again with no sync status: re-created, or its first status write
 * lost to a conflict and retried) cannot overwrite it, and reports "could not update secret, target is
 * immutable". The credential the services use is intact, so for an ExternalSecret whose every key comes
 * from a generator that refusal is Healthy (the message says the first value is kept); any other
 * failure, and any failure of an ExternalSecret that copies or reads a store, stays Degraded. Seen in the
 * first-install rehearsal: the lab's ESO lost its first status write to the `secrets` sync and then held
 * the Application Degraded, which stalls every later wave.
 *
 * Argo CD runs a custom check with the base, table and package libraries only (no `string`, unless
 * `useOpenLibs` is set): the message is compared whole, as the controller writes it (ESO's
 * msgErrorUpdateImmutable). The rehearsal found `string.find` failing there ("attempt to index a
 * non-table object(nil) with key 'find'"), which Argo CD reports as a ComparisonError of the Application.
 */
export const EXTERNAL_SECRET_HEALTH_KEY = 'resource.customizations.health.external-secrets.io_ExternalSecret';

export const EXTERNAL_SECRET_HEALTH_LUA = `-- Ready decides; an immutable generated credential that a controller refused to redraw is kept, not broken.
local hs = { status = "Progressing", message = "waiting for the ExternalSecret to sync" }
local function generatedOnly(spec)
  if spec == nil or spec.dataFrom == nil or (spec.data ~= nil and #spec.data > 0) or #spec.dataFrom == 0 then
    return false
  end
  for _, from in ipairs(spec.dataFrom) do
    if from.sourceRef == nil or from.sourceRef.generatorRef == nil then
      return false
    end
  end
  return true
end
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then
    local message = condition.message or ""
    if condition.status == "True" then
      hs.status = "Healthy"
      hs.message = message
    elseif condition.status == "False" and message == "could not update secret, target is immutable"
        and obj.spec ~= nil and obj.spec.target ~= nil and obj.spec.target.immutable == true and generatedOnly(obj.spec) then
      hs.status = "Healthy"
      hs.message = "the generated Secret exists and is immutable: its first values are kept (" .. message .. ")"
    elseif condition.status == "False" then
      hs.status = "Degraded"
      hs.message = message
    end
    return hs
  end
end
return hs
`;
