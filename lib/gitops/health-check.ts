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
