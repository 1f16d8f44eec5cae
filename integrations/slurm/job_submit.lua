--[[
hpc-burst job_submit.lua: lets people submit ordinary batch scripts to the cloud partition.

A batch job sent to the cloud partition (PARTITION in hpc-burst.conf, default "cloud") keeps all its
Slurm options, but its script is replaced by a few lines that run integrations/slurm/run-job on the
forwarding slot, with the original script base64-encoded on run-job's stdin; run-job runs it in the
cloud cluster with `hpcctl jobs run CLUSTER --script <copy>`.

This runs inside slurmctld, which it would block: it only reads hpc-burst.conf beside itself (a local
file) and rewrites the job. No network, no processes. Install it as job_submit.lua beside slurm.conf
(JobSubmitPlugins=lua), or call hpc_burst_job_submit() from the job_submit.lua you already have.
]]

local MARKER = "# hpc-burst: wrapped by job_submit.lua"
local DELIMITER = "HPC_BURST_SCRIPT"

-- The directory this file was loaded from: slurm.conf's.
local function own_dir()
  local source = debug.getinfo(1, "S").source
  return source:match("^@(.*)/[^/]*$") or "/etc/slurm"
end

local CONFIG_FILE = os.getenv("HPC_BURST_CONF") or (own_dir() .. "/hpc-burst.conf")

-- KEY=VALUE lines, as the shell programs read them; nil and a message when the file is unreadable.
local function read_config()
  local file, err = io.open(CONFIG_FILE, "r")
  if not file then
    return nil, err
  end
  local config = {}
  for line in file:lines() do
    local key, value = line:match("^%s*([A-Z][A-Z0-9_]*)%s*=%s*(.-)%s*$")
    if key then
      value = value:match('^"(.*)"$') or value:match("^'(.*)'$") or value
      config[key] = value
    end
  end
  file:close()
  return config
end

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function sextet(n)
  return ALPHABET:sub(n + 1, n + 1)
end

-- Base64 in lines of 76 characters (Lua 5.1 has no bit operators: arithmetic does it).
local function base64(data)
  local lines, line = {}, {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    line[#line + 1] = sextet(math.floor(n / 262144) % 64)
      .. sextet(math.floor(n / 4096) % 64)
      .. (b and sextet(math.floor(n / 64) % 64) or "=")
      .. (c and sextet(n % 64) or "=")
    if #line == 19 then
      lines[#lines + 1] = table.concat(line)
      line = {}
    end
  end
  if #line > 0 then
    lines[#lines + 1] = table.concat(line)
  end
  return table.concat(lines, "\n")
end

local function shell_quote(text)
  return "'" .. text:gsub("'", "'\\''") .. "'"
end

-- The script that replaces the submitted one.
local function wrapper(script, config)
  local install_dir = config.INSTALL_DIR or "/opt/hpc-cluster-api"
  local run_job = install_dir .. "/integrations/slurm/run-job"
  return table.concat({
    "#!/bin/bash",
    MARKER,
    "# The script you submitted runs in the cloud cluster " .. (config.CLUSTER_NAME or "?")
      .. " through `hpcctl jobs run`; it follows, base64-encoded.",
    "HPC_BURST_CONF=" .. shell_quote(CONFIG_FILE) .. " exec " .. shell_quote(run_job) .. " <<'" .. DELIMITER .. "'",
    base64(script),
    DELIMITER,
    "",
  }, "\n")
end

-- Every entry of a comma-separated partition list is the cloud partition: true; some are: "mixed".
local function targets_cloud(partitions, cloud)
  if partitions == nil then
    return false
  end
  local cloud_count, count = 0, 0
  for name in partitions:gmatch("[^,]+") do
    count = count + 1
    if name == cloud then
      cloud_count = cloud_count + 1
    end
  end
  if cloud_count == 0 then
    return false
  end
  return cloud_count == count or "mixed"
end

--- Wraps a cloud-partition batch job; returns slurm.SUCCESS or slurm.ERROR (with a message for the user).
function hpc_burst_job_submit(job_desc, part_list, submit_uid)
  local config, err = read_config()
  if not config then
    slurm.log_error("hpc-burst: cannot read %s: %s; jobs pass unchanged", CONFIG_FILE, tostring(err))
    return slurm.SUCCESS
  end
  local cloud = config.PARTITION or "cloud"
  local target = targets_cloud(job_desc.partition, cloud)
  if not target then
    return slurm.SUCCESS
  end
  if target == "mixed" then
    slurm.log_user("hpc-burst: submit to partition %s on its own (jobs there run in the cloud cluster)", cloud)
    return slurm.ERROR
  end
  local script = job_desc.script
  if script == nil or script == "" then
    slurm.log_user(
      "hpc-burst: partition %s runs batch scripts (sbatch) in the cloud cluster; srun and salloc cannot go there",
      cloud
    )
    return slurm.ERROR
  end
  if script:find(MARKER, 1, true) then
    return slurm.SUCCESS
  end
  job_desc.script = wrapper(script, config)
  slurm.log_info("hpc-burst: wrapped a batch script of uid %d for partition %s", submit_uid, cloud)
  return slurm.SUCCESS
end

function slurm_job_submit(job_desc, part_list, submit_uid)
  return hpc_burst_job_submit(job_desc, part_list, submit_uid)
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
  return slurm.SUCCESS
end

return slurm.SUCCESS
