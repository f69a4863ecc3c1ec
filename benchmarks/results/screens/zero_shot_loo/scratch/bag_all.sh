export PYTHONHASHSEED=0 OMP_NUM_THREADS=1
P=/work/main/.venv/bin/python
for c in lcbench:/tmp/s58/lc.pkl keel:/tmp/s55/keel.pkl syn1:/tmp/s55/syn1.pkl syn2:/tmp/s56/syn2.pkl syn3:/tmp/s56/syn3.pkl syn4:/tmp/s56/syn4.pkl syn5:/tmp/s56/syn5.pkl syn6:/tmp/s56/syn6.pkl syn7:/tmp/s58/syn7.pkl syn8:/tmp/s58/syn8.pkl syn9:/tmp/s58/syn9.pkl syn10:/tmp/s58/syn10.pkl syn11:/tmp/s58/syn11.pkl syn2026:/tmp/s55/syn2026.pkl synind:/tmp/s55/synind.pkl s8_80:/tmp/s56/syn8_80.pkl s8_81:/tmp/s56/syn8_81.pkl s8_82:/tmp/s58/syn8_82.pkl s8_83:/tmp/s58/syn8_83.pkl; do
  n=${c%%:*}; f=${c#*:}
  echo $n $($P /tmp/s59/bag.py $f /tmp/s59/bag_$n.json 8)
done
